import type { Logger } from 'pino';
import type { BreakerOptions } from './breaker.js';
import { computeCenToken } from './cen-token.js';
import type { CentagateSessionStore } from './store.js';
import type {
  CentagateCacheOptions,
  CentagateSessionOptions,
  CredentialsResolver,
  GetUsername,
  OnDenied,
} from './types.js';

/** The environment variables read as fallbacks, by option. */
export const ENVIRONMENT_VARIABLES = Object.freeze({
  baseUrl: 'CENTAGATE_BASE_URL',
  adminUsername: 'CENTAGATE_ADMIN_USERNAME',
  authToken: 'CENTAGATE_AUTH_TOKEN',
  secretCode: 'CENTAGATE_SECRET_CODE',
});

/** Where the cenToken of a request comes from. */
export type CredentialSource =
  /** Static credentials: the cenToken is computed once, at start-up. */
  | { kind: 'static'; adminUsername: string; cenToken: string }
  | { kind: 'per-request'; resolve: CredentialsResolver };

/** The options after defaults, environment and validation: every field set, frozen. */
export interface SessionConfig {
  readonly getUsername: GetUsername;
  readonly baseUrl: string;
  readonly credentials: CredentialSource;
  readonly method: 'PUT' | 'GET';
  readonly timeoutMs: number;
  readonly retries: number;
  readonly cache: Readonly<Required<CentagateCacheOptions>> | false;
  readonly breaker: Readonly<Required<BreakerOptions>> | false;
  readonly maxInFlight: number;
  readonly optional: boolean;
  readonly logger: Logger | undefined;
  readonly onDenied: OnDenied | undefined;
  readonly store: CentagateSessionStore | undefined;
  readonly realm: string;
}

const DEFAULT_CACHE: Required<CentagateCacheOptions> = {
  ttlMs: 30_000,
  negativeTtlMs: 5_000,
  max: 10_000,
  negativeMax: 1_000,
  staleIfErrorMs: 0,
};

const DEFAULT_BREAKER: Required<BreakerOptions> = { failures: 5, cooldownMs: 5_000 };

/** Every option with its default; `undefined` where the default comes from elsewhere. */
const DEFAULTS = {
  baseUrl: undefined,
  adminUsername: undefined,
  authToken: undefined,
  secretCode: undefined,
  credentials: undefined,
  method: 'PUT',
  timeoutMs: 2000,
  retries: 1,
  cache: DEFAULT_CACHE,
  breaker: DEFAULT_BREAKER,
  maxInFlight: 100,
  optional: false,
  logger: undefined,
  onDenied: undefined,
  store: undefined,
  realm: 'centagate',
} as const satisfies Record<keyof CentagateSessionOptions, unknown>;

const OPTION_NAMES = Object.keys(DEFAULTS);
const CACHE_OPTION_NAMES = Object.keys(DEFAULT_CACHE);

function fail(message: string): never {
  throw new TypeError(`requireCentagateSession: ${message}`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value;
}

function looksLikeRequest(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    'method' in value &&
    'headers' in value &&
    ('url' in value || 'socket' in value)
  );
}

/** Refuses option names that do not exist, saying where the intended one lives. */
function checkKnownKeys(given: object, known: readonly string[], where: string): void {
  for (const key of Object.keys(given)) {
    if (known.includes(key)) continue;
    let hint = '';
    const sameLetters = known.find((name) => name.toLowerCase() === key.toLowerCase());
    if (sameLetters !== undefined) hint = ` Did you mean ${JSON.stringify(sameLetters)}?`;
    else if (where === '' && CACHE_OPTION_NAMES.includes(key)) hint = ` It belongs inside cache: { ${key}: … }.`;
    fail(`unknown option ${where}${JSON.stringify(key)}.${hint} Known options: ${known.join(', ')}.`);
  }
}

function positiveNumber(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    fail(`${name} must be a positive number of milliseconds, got ${describe(value)}.`);
  }
  return value;
}

function nonNegativeNumber(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    fail(`${name} must be zero or a positive number of milliseconds, got ${describe(value)}.`);
  }
  return value;
}

/** An option that is `false` or an object of sub-options: checked, and merged over its defaults. */
function resolveSection<T extends object>(name: string, value: unknown, defaults: Required<T>, example: string): Required<T> | false {
  if (value === false) return false;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(`${name} must be an object such as ${example} or false, got ${describe(value)}.`);
  }
  checkKnownKeys(value, Object.keys(defaults), `${name}.`);
  return { ...defaults, ...stripUndefined(value as T) };
}

function resolveCache(value: unknown): Required<CentagateCacheOptions> | false {
  const merged = resolveSection<CentagateCacheOptions>('cache', value, DEFAULT_CACHE, '{ ttlMs: 30000 }');
  if (merged === false) return false;
  return Object.freeze({
    ttlMs: positiveNumber('cache.ttlMs', merged.ttlMs),
    negativeTtlMs: nonNegativeNumber('cache.negativeTtlMs', merged.negativeTtlMs),
    max: wholeNumber('cache.max', merged.max, 1, 'entries'),
    negativeMax: wholeNumber('cache.negativeMax', merged.negativeMax, 1, 'entries'),
    staleIfErrorMs: nonNegativeNumber('cache.staleIfErrorMs', merged.staleIfErrorMs),
  });
}

function resolveBreaker(value: unknown): Required<BreakerOptions> | false {
  const merged = resolveSection<BreakerOptions>('breaker', value, DEFAULT_BREAKER, '{ failures: 5, cooldownMs: 5000 }');
  if (merged === false) return false;
  return Object.freeze({
    failures: wholeNumber('breaker.failures', merged.failures, 1, 'consecutive failures'),
    cooldownMs: positiveNumber('breaker.cooldownMs', merged.cooldownMs),
  });
}

function wholeNumber(name: string, value: unknown, minimum: number, unit: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < minimum) {
    fail(`${name} must be a whole number of ${unit} of at least ${minimum}, got ${describe(value)}.`);
  }
  return value;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}

function resolveCredentials(options: CentagateSessionOptions, env: NodeJS.ProcessEnv): CredentialSource {
  const explicitStatic = (['adminUsername', 'authToken', 'secretCode'] as const).filter((name) => options[name] !== undefined);
  if (options.credentials !== undefined) {
    if (typeof options.credentials !== 'function') {
      fail(`credentials must be a function (req, username) => ({ adminUsername, authToken, secretCode }), got ${describe(options.credentials)}.`);
    }
    if (explicitStatic.length > 0) {
      fail(`give either credentials or static ${explicitStatic.join('/')}, not both.`);
    }
    return { kind: 'per-request', resolve: options.credentials };
  }
  const values = {
    adminUsername: options.adminUsername ?? env[ENVIRONMENT_VARIABLES.adminUsername],
    authToken: options.authToken ?? env[ENVIRONMENT_VARIABLES.authToken],
    secretCode: options.secretCode ?? env[ENVIRONMENT_VARIABLES.secretCode],
  };
  const missing = (Object.keys(values) as (keyof typeof values)[]).filter((name) => {
    const value = values[name];
    return typeof value !== 'string' || value === '';
  });
  if (missing.length > 0) {
    const how = missing.map((name) => `${name} (env ${ENVIRONMENT_VARIABLES[name]})`).join(', ');
    fail(`no credentials for CENTAGATE: set ${how}, or pass credentials: (req, username) => ({ adminUsername, authToken, secretCode }).`);
  }
  const { adminUsername, authToken, secretCode } = values as Record<keyof typeof values, string>;
  return { kind: 'static', adminUsername, cenToken: computeCenToken({ adminUsername, authToken, secretCode }) };
}

function resolveBaseUrl(value: unknown): string {
  if (value === undefined || value === '') {
    fail(`no baseUrl: pass baseUrl (e.g. 'https://host/CentagateWS/webresources') or set env ${ENVIRONMENT_VARIABLES.baseUrl}.`);
  }
  if (typeof value !== 'string' && !(value instanceof URL)) fail(`baseUrl must be a string or URL, got ${describe(value)}.`);
  const text = String(value);
  if (!URL.canParse(text)) fail(`baseUrl must be an absolute http(s) URL such as https://host/CentagateWS/webresources.`);
  return text;
}

/**
 * Resolves and validates the factory's arguments once: user options over the defaults,
 * environment fallbacks, and a `TypeError` that says how to fix every mistake.
 * Nothing else reads raw options or the environment.
 */
export function parseOptions(getUsername: unknown, rawOptions: unknown, env: NodeJS.ProcessEnv = process.env): SessionConfig {
  if (looksLikeRequest(getUsername)) {
    fail('it looks like you wrote app.use(requireCentagateSession); call it instead: app.use(requireCentagateSession((req) => username, options)).');
  }
  if (typeof getUsername !== 'function') {
    const hint =
      typeof getUsername === 'object' && getUsername !== null
        ? ' The first argument is the getter and the options come second: requireCentagateSession((req) => req.session.username, options).'
        : '';
    fail(`getUsername must be a function (req) => string | null | undefined, got ${describe(getUsername)}.${hint}`);
  }
  if (rawOptions !== undefined && (typeof rawOptions !== 'object' || rawOptions === null || Array.isArray(rawOptions))) {
    fail(`options must be an object, got ${describe(rawOptions)}.`);
  }
  const given = (rawOptions ?? {}) as CentagateSessionOptions;
  checkKnownKeys(given, OPTION_NAMES, '');
  // Typed as unknown: JavaScript callers and `as any` can pass anything, so every value is checked.
  const options: Record<keyof typeof DEFAULTS, unknown> = { ...DEFAULTS, ...stripUndefined(given) };

  if (options.method !== 'PUT' && options.method !== 'GET') fail(`method must be 'PUT' or 'GET', got ${describe(options.method)}.`);
  if (typeof options.optional !== 'boolean') fail(`optional must be true or false, got ${describe(options.optional)}.`);
  if (options.onDenied !== undefined && typeof options.onDenied !== 'function') {
    fail(`onDenied must be a function (denial, req, res, next) => void, got ${describe(options.onDenied)}.`);
  }
  if (options.logger !== undefined && (typeof options.logger !== 'object' || typeof (options.logger as Partial<Logger>).info !== 'function')) {
    fail(`logger must be a pino logger, got ${describe(options.logger)}.`);
  }
  // eslint-disable-next-line no-control-regex
  if (typeof options.realm !== 'string' || options.realm === '' || /[\u0000-\u001f\u007f"\\]/.test(options.realm)) {
    fail(`realm must be a non-empty string without quotes, backslashes or control characters, got ${describe(options.realm)}.`);
  }
  const store = options.store;
  if (store !== undefined) {
    const methods = ['get', 'set', 'invalidate', 'subscribe'] as const;
    if (typeof store !== 'object' || store === null || methods.some((name) => typeof (store as Record<string, unknown>)[name] !== 'function')) {
      fail(`store must have get, set, invalidate and subscribe methods (e.g. createRedisStore() from express-centagate-session/redis), got ${describe(store)}.`);
    }
    if (options.cache === false) fail('store is a second cache tier: it needs cache (not false).');
  }
  const retries = options.retries;
  if (typeof retries !== 'number' || !Number.isInteger(retries) || retries < 0 || retries > 10) {
    fail(`retries must be a whole number from 0 to 10, got ${describe(retries)}.`);
  }

  return Object.freeze({
    getUsername: getUsername as GetUsername,
    baseUrl: resolveBaseUrl(options.baseUrl ?? env[ENVIRONMENT_VARIABLES.baseUrl]),
    credentials: Object.freeze(resolveCredentials(given, env)),
    method: options.method,
    timeoutMs: positiveNumber('timeoutMs', options.timeoutMs),
    retries,
    cache: resolveCache(options.cache),
    breaker: resolveBreaker(options.breaker),
    maxInFlight: wholeNumber('maxInFlight', options.maxInFlight, 1, 'checks'),
    optional: options.optional,
    logger: options.logger as Logger | undefined,
    onDenied: options.onDenied as OnDenied | undefined,
    store: store as CentagateSessionStore | undefined,
    realm: options.realm,
  });
}
