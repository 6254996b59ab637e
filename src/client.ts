import http from 'node:http';
import https from 'node:https';
import got, { type Got, type Method, type RequestError } from 'got';
import { computeCenToken, isCenToken, type CentagateCredentials } from './cen-token.js';
import { CentagateUnauthorizedError, CentagateUnavailableError, type UpstreamFailure } from './errors.js';
import { usernamePathSegment, usernameProblem } from './username.js';

/** The largest reply body accepted from CENTAGATE, in bytes. */
export const MAX_REPLY_BYTES = 64 * 1024;
/** First pause before a retry, in ms; doubles per retry up to {@link MAX_RETRY_BACKOFF_MS}. */
export const RETRY_BACKOFF_MS = 50;
/** Longest pause before a retry, in ms. */
export const MAX_RETRY_BACKOFF_MS = 200;
const RETRY_STATUS_CODES = [502, 503, 504];
const NETWORK_ERROR_CODES = [
  'ETIMEDOUT',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ENOTFOUND',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  'ECONNABORTED',
];

/** How a {@link CentagateClient} talks to CENTAGATE. */
export interface CentagateClientOptions {
  /**
   * CENTAGATE's web-resources root, e.g. `https://cloud.example.com/CentagateWS/webresources`.
   * Must be `http:` or `https:` with no query, fragment or credentials.
   */
  baseUrl: string | URL;
  /** HTTP method of the session check. Default `'PUT'` (the vendor's page); its samples send `'GET'`. */
  method?: 'PUT' | 'GET';
  /** Limit for one upstream attempt, in ms. Default `2000`. */
  timeoutMs?: number;
  /**
   * Extra attempts after a network error, a timed-out attempt or HTTP 502/503/504. Default `1`.
   * All attempts together stay within `timeoutMs × (retries + 1)` plus at most
   * 200 ms of back-off per retry.
   */
  retries?: number;
}

/** What CENTAGATE answered to a session check. */
export interface CentagateReply {
  /** CENTAGATE's return code: `0` means the session is active. */
  returnCode: number;
  /** CENTAGATE's message. */
  message: string;
  /** The reply's `object`; a string holding a JSON object or array is parsed, anything else is kept as sent. */
  object: unknown;
}

/** Input of {@link CentagateClient.checkSession}. */
export interface SessionCheck extends Partial<CentagateCredentials> {
  /** The user whose session is checked. */
  username: string;
  /** A cenToken computed beforehand (see `computeCenToken`); used instead of the three credentials. */
  cenToken?: string;
}

/** Counters of one client. */
export interface CentagateClientStats {
  /** HTTP requests sent to CENTAGATE, each retry included. */
  upstreamRequests: number;
}

function parseBaseUrl(baseUrl: string | URL): URL {
  let url: URL;
  try {
    url = new URL(String(baseUrl));
  } catch {
    throw new TypeError('baseUrl must be an absolute http(s) URL such as https://host/CentagateWS/webresources.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`baseUrl must use http: or https:, not ${url.protocol}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new TypeError('baseUrl must not carry credentials (user:password@).');
  }
  if (url.search !== '' || url.hash !== '') {
    throw new TypeError('baseUrl must not have a query string or fragment.');
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

/** Parses a reply's `object`: a string holding a JSON object or array becomes that value. */
function parseReplyObject(object: unknown): unknown {
  if (typeof object !== 'string') return object;
  const text = object.trim();
  if (!text.startsWith('{') && !text.startsWith('[')) return object;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return object;
  }
}

function parseReturnCode(code: unknown): number | undefined {
  if (typeof code === 'number') return Number.isSafeInteger(code) ? code : undefined;
  if (typeof code === 'string' && /^\s*-?\d{1,15}\s*$/.test(code)) return Number(code);
  return undefined;
}

/** Turns a reply body into a {@link CentagateReply}, or says what is wrong with it. */
export function parseReplyBody(body: string): CentagateReply | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return 'the body is not JSON';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return 'the body is not a JSON object';
  }
  const reply = parsed as Record<string, unknown>;
  const returnCode = parseReturnCode(reply['code']);
  if (returnCode === undefined) return 'the body has no numeric code';
  const message = reply['message'];
  return {
    returnCode,
    message: typeof message === 'string' ? message : message === undefined || message === null ? '' : JSON.stringify(message),
    object: parseReplyObject(reply['object']),
  };
}

function failureOf(error: RequestError): UpstreamFailure {
  if (error.name === 'TimeoutError' || error.code === 'ETIMEDOUT') return 'timeout';
  return 'network';
}

/**
 * Copies what is safe to keep of one of got's errors: its name, code and a message
 * with the cenToken removed. got's error objects hold the request options and URL
 * (which carries the cenToken), so they are never kept as `cause`.
 */
function sanitizedCause(error: RequestError, cenToken: string): Error {
  const cause = new Error(error.message.split(cenToken).join('[cenToken]'));
  cause.name = error.name;
  Object.defineProperty(cause, 'code', { value: error.code, enumerable: true });
  cause.stack = `${cause.name}: ${cause.message}`;
  return cause;
}

const TOO_LARGE_REASON = 'reply over the body cap';
const tooLarge = (): CentagateUnavailableError =>
  new CentagateUnavailableError('too_large', `CENTAGATE's reply was over ${MAX_REPLY_BYTES} bytes.`);

/**
 * Talks to CENTAGATE's "Check User Session" endpoint:
 * `PUT {baseUrl}/session/check/{username}/{cenToken}`.
 *
 * One configured got instance per client: a timeout per attempt, a bounded
 * retry after network errors and HTTP 502/503/504, keep-alive sockets,
 * redirects never followed and a 64 KiB body cap. Errors carry a stable
 * `failure` and never the URL, the cenToken or the credentials.
 *
 * @example
 * const client = new CentagateClient({ baseUrl: 'https://cg.example.com/CentagateWS/webresources' });
 * const reply = await client.checkSession({ username: 'alice', adminUsername: 'alice', authToken, secretCode });
 * if (reply.returnCode === 0) { ... }
 * client.close();
 */
export class CentagateClient {
  readonly #http: Got;
  readonly #agents: { http: http.Agent; https: https.Agent };
  readonly #timeoutMs: number;
  #upstreamRequests = 0;

  constructor(options: CentagateClientOptions) {
    if (typeof (options as unknown) !== 'object' || (options as unknown) === null) {
      throw new TypeError('CentagateClient needs an options object with at least baseUrl.');
    }
    const prefixUrl = parseBaseUrl(options.baseUrl);
    const method: unknown = options.method ?? 'PUT';
    if (method !== 'PUT' && method !== 'GET') {
      throw new TypeError(`method must be 'PUT' or 'GET', got ${JSON.stringify(options.method)}.`);
    }
    const timeoutMs = options.timeoutMs ?? 2000;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new TypeError(`timeoutMs must be a positive number of milliseconds, got ${String(options.timeoutMs)}.`);
    }
    const retries = options.retries ?? 1;
    if (!Number.isInteger(retries) || retries < 0 || retries > 10) {
      throw new TypeError(`retries must be a whole number from 0 to 10, got ${String(options.retries)}.`);
    }
    this.#timeoutMs = timeoutMs;
    this.#agents = {
      http: new http.Agent({ keepAlive: true }),
      https: new https.Agent({ keepAlive: true }),
    };
    this.#http = got.extend({
      prefixUrl: prefixUrl.href,
      method: method satisfies Method,
      headers: { accept: 'application/json', 'user-agent': 'express-centagate-session' },
      agent: this.#agents,
      timeout: { request: timeoutMs },
      followRedirect: false,
      throwHttpErrors: false,
      decompress: false,
      responseType: 'text',
      retry: {
        limit: retries,
        methods: ['PUT', 'GET'],
        statusCodes: RETRY_STATUS_CODES,
        errorCodes: NETWORK_ERROR_CODES,
        // A short back-off instead of got's seconds, and no waiting for Retry-After,
        // so that every attempt together stays near timeoutMs × (retries + 1).
        calculateDelay: ({ computedValue, attemptCount }) =>
          computedValue === 0 ? 0 : Math.min(RETRY_BACKOFF_MS * 2 ** (attemptCount - 1), MAX_RETRY_BACKOFF_MS),
      },
      hooks: {
        beforeRequest: [
          () => {
            this.#upstreamRequests += 1;
          },
        ],
      },
      handlers: [
        (gotOptions, next) => {
          const pending = next(gotOptions);
          // got has no body cap of its own: cancel once more than MAX_REPLY_BYTES arrived.
          (pending as unknown as NodeJS.EventEmitter).on('downloadProgress', (progress: { transferred: number }) => {
            if (progress.transferred > MAX_REPLY_BYTES && 'cancel' in pending) {
              (pending as { cancel: (reason?: string) => void }).cancel(TOO_LARGE_REASON);
            }
          });
          return pending;
        },
      ],
    });
  }

  /** Counters since the client was made. */
  stats(): CentagateClientStats {
    return { upstreamRequests: this.#upstreamRequests };
  }

  /**
   * Asks CENTAGATE whether `username`'s session is active.
   *
   * Resolves to CENTAGATE's reply whatever its return code; rejects with a
   * {@link CentagateUnavailableError} when no usable reply came back, and with a
   * {@link CentagateUnauthorizedError} (`invalid_username`) before any request
   * for a username that cannot be one path segment.
   */
  async checkSession(check: SessionCheck): Promise<CentagateReply> {
    const { username } = check;
    if (typeof username !== 'string') {
      throw new TypeError('checkSession: username must be a string.');
    }
    const problem = usernameProblem(username);
    if (problem !== undefined) {
      throw new CentagateUnauthorizedError('invalid_username', `The username cannot be checked: ${problem}.`);
    }
    if (check.cenToken !== undefined && !isCenToken(check.cenToken)) {
      throw new TypeError('checkSession: cenToken must be 64 lower-case hex digits (see computeCenToken).');
    }
    const cenToken =
      check.cenToken ??
      computeCenToken({
        adminUsername: check.adminUsername as string,
        authToken: check.authToken as string,
        secretCode: check.secretCode as string,
      });
    let response;
    try {
      response = await this.#http(`session/check/${usernamePathSegment(username)}/${cenToken}`);
    } catch (error) {
      const requestError = error as RequestError;
      if (requestError.name === 'CancelError') {
        // Only the body cap above cancels a check.
        throw tooLarge();
      }
      const failure = failureOf(requestError);
      const message =
        failure === 'timeout'
          ? `CENTAGATE did not answer within ${this.#timeoutMs} ms.`
          : `CENTAGATE could not be reached (${requestError.code}).`;
      throw new CentagateUnavailableError(failure, message, { cause: sanitizedCause(requestError, cenToken) });
    }
    const { statusCode } = response;
    if (statusCode >= 300 && statusCode < 400) {
      throw new CentagateUnavailableError('redirect', `CENTAGATE answered with a redirect (HTTP ${statusCode}); redirects are not followed.`);
    }
    if (statusCode < 200 || statusCode >= 300) {
      throw new CentagateUnavailableError('http_status', `CENTAGATE answered HTTP ${statusCode}.`);
    }
    if (response.rawBody.length > MAX_REPLY_BYTES) {
      throw tooLarge();
    }
    const reply = parseReplyBody(response.body);
    if (typeof reply === 'string') {
      throw new CentagateUnavailableError('bad_body', `CENTAGATE's reply could not be read: ${reply}.`);
    }
    return reply;
  }

  /** Closes the keep-alive sockets. Requests after `close()` open new ones. */
  close(): void {
    this.#agents.http.destroy();
    this.#agents.https.destroy();
  }
}
