import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { computeCenToken } from '../cen-token.js';
import { DEMO_USERS, RETURN_CODES, RETURN_MESSAGES, type EmulatorUser } from './users.js';

/** Options of {@link startCentagateEmulator}. */
export interface CentagateEmulatorOptions {
  /** TCP port. Default `0`: any free port (read it from `baseUrl`). */
  port?: number;
  /** Address to listen on. Default `'127.0.0.1'`. Anything else exposes demo credentials to the network. */
  host?: string;
  /** Path of the web-resources root. Default `'/CentagateWS/webresources'`. */
  basePath?: string;
  /** A session unused for this long (ms) has ended. Default 15 minutes. */
  sessionIdleMs?: number;
  /** Users to start with. Default {@link DEMO_USERS}. */
  users?: readonly EmulatorUser[];
  /** The sign-in app's integration key. Default: random per start. */
  integrationKey?: string;
  /** The sign-in app's secret key (keys the sign-in `hmac`). Default: random per start. */
  secretKey?: string;
  /** Largest accepted clock difference of a sign-in's `unixTimestamp`, in seconds. Default `300`. */
  maxClockSkewSeconds?: number;
}

/**
 * A fault the emulator injects into session checks (not sign-in), for tests.
 * Fields combine: `latencyMs` (plus up to `jitterMs`) delays every check; the failure
 * fields (`returnCode`, `httpStatus`, `invalidJson`, `noAnswer`) apply to a share
 * `probability` of the checks.
 */
export interface EmulatorFault {
  /** Share (0–1) of checks that get the failure fields. Default `1`. */
  probability?: number;
  /** Up to this many ms of random extra latency on every check. */
  jitterMs?: number;
  /** Answer this CENTAGATE return code (HTTP 200) instead of checking, e.g. `10004`. */
  returnCode?: number;
  /** Wait this long (ms) before answering. */
  latencyMs?: number;
  /** Answer this HTTP status with an HTML body, e.g. `500`. */
  httpStatus?: number;
  /** Answer HTTP 200 with a body that is not JSON. */
  invalidJson?: boolean;
  /** Never answer: hold the connection open until the client gives up or the emulator closes. */
  noAnswer?: boolean;
  /** Apply to this many checks, then clear. Default: until `setFault()` is called again. */
  times?: number;
}

/** What a successful sign-in yields: what the session check needs. */
export interface EmulatorSignIn {
  username: string;
  userId: string;
  /** Secret: goes into the cenToken. */
  authToken: string;
  /** Secret: keys the cenToken. */
  secretCode: string;
}

/** A sign-in that the emulator refused. */
export class EmulatorSignInError extends Error {
  override readonly name = 'EmulatorSignInError';
  constructor(
    /** The emulator's non-zero return code. */
    readonly returnCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** A running emulator. */
export interface CentagateEmulator {
  /** The web-resources root to give the middleware, e.g. `http://127.0.0.1:41234/CentagateWS/webresources`. */
  readonly baseUrl: string;
  /** The sign-in app's keys, for `POST {baseUrl}/auth/authBasic`. */
  readonly app: { readonly integrationKey: string; readonly secretKey: string };
  /** The users the emulator started with (demo passwords included). */
  readonly users: readonly EmulatorUser[];
  /**
   * Opens a session. Without a password (a test helper) the user is created if needed and a
   * session always opens; with one, it is checked as the sign-in endpoint does and a wrong
   * password or unknown user rejects with an {@link EmulatorSignInError}.
   */
  signIn(username: string, password?: string): Promise<EmulatorSignIn>;
  /** Ends every session of `username`: later checks answer 10001. Resolves to how many ended. */
  signOut(username: string): Promise<number>;
  /** Injects a fault into later session checks; `setFault()` clears it. */
  setFault(fault?: EmulatorFault): void;
  /** Counters since start: session checks served (faulted ones included) and sign-ins. */
  stats(): { checks: number; signIns: number };
  /** Method and raw request target of the latest requests (at most 1000), oldest first. */
  readonly requestLog: readonly string[];
  /** Stops listening and ends every open connection. */
  close(): Promise<void>;
}

interface OpenSession extends EmulatorSignIn {
  role: EmulatorUser['role'];
  lastSeen: number;
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };
const MAX_REQUEST_BODY_BYTES = 16 * 1024;
const REQUEST_LOG_LENGTH = 1000;

function reply(res: ServerResponse, code: number, object: unknown = null, httpStatus = 200): void {
  res.writeHead(httpStatus, JSON_HEADERS);
  res.end(JSON.stringify({ code, message: RETURN_MESSAGES[code] ?? 'Error', object }));
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BODY_BYTES) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', () => {
      resolve(undefined);
    });
  });
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * The HMAC a sign-in request carries: hex HMAC-SHA256 keyed with the app's secret key over
 * `username + password + userAgent + integrationKey + supportFido + browserFp + unixTimestamp + ipAddress`.
 */
export function signInHmac(
  secretKey: string,
  fields: {
    username: string;
    password: string;
    integrationKey: string;
    unixTimestamp: string | number;
    userAgent?: string;
    supportFido?: string | boolean;
    browserFp?: string;
    ipAddress?: string;
  },
): string {
  const message =
    fields.username +
    fields.password +
    (fields.userAgent ?? '') +
    fields.integrationKey +
    String(fields.supportFido ?? '') +
    (fields.browserFp ?? '') +
    String(fields.unixTimestamp) +
    (fields.ipAddress ?? '');
  return createHmac('sha256', secretKey).update(message, 'utf8').digest('hex');
}

/**
 * Starts a CENTAGATE emulator: a real HTTP server that answers
 * `PUT|GET {basePath}/session/check/{username}/{cenToken}` and
 * `POST {basePath}/auth/authBasic` as CENTAGATE documents them, plus the
 * emulator's own sign-out, `POST {basePath}/emulator/signOut/{username}/{cenToken}`.
 *
 * @example
 * const emulator = await startCentagateEmulator();
 * const { authToken, secretCode } = await emulator.signIn('alice');
 * // … point the middleware at emulator.baseUrl …
 * await emulator.close();
 */
export async function startCentagateEmulator(options: CentagateEmulatorOptions = {}): Promise<CentagateEmulator> {
  const host = options.host ?? '127.0.0.1';
  const basePath = (options.basePath ?? '/CentagateWS/webresources').replace(/\/+$/, '');
  const sessionIdleMs = options.sessionIdleMs ?? 15 * 60 * 1000;
  const maxClockSkewSeconds = options.maxClockSkewSeconds ?? 300;
  const app = Object.freeze({
    integrationKey: options.integrationKey ?? randomBytes(12).toString('hex'),
    secretKey: options.secretKey ?? randomBytes(24).toString('hex'),
  });
  const users = new Map<string, EmulatorUser & { userId: string }>();
  for (const user of options.users ?? DEMO_USERS) users.set(user.username, { ...user, userId: randomUUID() });
  /** Open sessions by the cenToken they authorise as their own admin (HMAC(secretCode, username + authToken)). */
  const sessions = new Map<string, OpenSession>();
  let fault: EmulatorFault | undefined;
  let checks = 0;
  let signIns = 0;
  const requestLog: string[] = [];
  const pendingTimers = new Set<NodeJS.Timeout>();

  function liveSession(cenToken: string): OpenSession | undefined {
    const session = sessions.get(cenToken);
    if (session === undefined) return undefined;
    if (Date.now() - session.lastSeen > sessionIdleMs) {
      sessions.delete(cenToken);
      return undefined;
    }
    return session;
  }

  function hasLiveSession(username: string): boolean {
    for (const [cenToken, session] of sessions) {
      if (session.username === username && liveSession(cenToken) !== undefined) return true;
    }
    return false;
  }

  function openSession(username: string): EmulatorSignIn {
    let user = users.get(username);
    if (user === undefined) {
      user = { username, password: randomBytes(12).toString('hex'), role: 'user', userId: randomUUID() };
      users.set(username, user);
    }
    const session: OpenSession = {
      username,
      userId: user.userId,
      authToken: randomBytes(24).toString('base64url'),
      secretCode: randomBytes(24).toString('base64url'),
      role: user.role,
      lastSeen: Date.now(),
    };
    sessions.set(computeCenToken({ adminUsername: username, ...session }), session);
    signIns += 1;
    return { username, userId: session.userId, authToken: session.authToken, secretCode: session.secretCode };
  }

  function checkPassword(username: string, password: string): EmulatorSignIn {
    const user = users.get(username);
    if (user === undefined || !safeEqual(user.password, password)) {
      throw new EmulatorSignInError(RETURN_CODES.SIGN_IN_FAILED, 'Invalid username or password');
    }
    return openSession(username);
  }

  function signOut(username: string): number {
    let ended = 0;
    for (const [cenToken, session] of sessions) {
      if (session.username === username) {
        sessions.delete(cenToken);
        ended += 1;
      }
    }
    return ended;
  }

  /** The return code of a check of `username` authorised by `cenToken`, and the admin's session. */
  function checkSession(username: string, cenToken: string): { code: number; admin?: OpenSession } {
    if (username === '' || !/^[0-9a-fA-F]{64}$/.test(cenToken)) return { code: RETURN_CODES.INVALID_INPUT };
    const admin = liveSession(cenToken.toLowerCase());
    if (admin === undefined) return { code: RETURN_CODES.PERMISSION_NOT_ALLOWED };
    admin.lastSeen = Date.now();
    if (admin.username === username) return { code: RETURN_CODES.SUCCESS, admin };
    if (admin.role === 'admin' && hasLiveSession(username)) return { code: RETURN_CODES.SUCCESS, admin };
    return { code: RETURN_CODES.PERMISSION_NOT_ALLOWED };
  }

  function later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      pendingTimers.delete(timer);
      run();
    }, ms);
    pendingTimers.add(timer);
  }

  function answerCheck(res: ServerResponse, username: string, cenToken: string): void {
    checks += 1;
    const active = fault;
    if (active?.times !== undefined) {
      active.times -= 1;
      if (active.times <= 0) fault = undefined;
    }
    const failing = active !== undefined && Math.random() < (active.probability ?? 1);
    const answer = (): void => {
      if (res.destroyed) return;
      if (!failing) {
        answerHonestly();
        return;
      }
      if (active.noAnswer) return;
      if (active.httpStatus !== undefined) {
        res.writeHead(active.httpStatus, { 'content-type': 'text/html; charset=utf-8' });
        res.end(`<html><body><h1>${active.httpStatus} Error</h1><p>Emulated failure.</p></body></html>`);
        return;
      }
      if (active.invalidJson) {
        res.writeHead(200, JSON_HEADERS);
        res.end('{"code": 0, "message": "Success", "object": ');
        return;
      }
      if (active.returnCode !== undefined) {
        reply(res, active.returnCode);
        return;
      }
      answerHonestly();
    };
    const answerHonestly = (): void => {
      const { code, admin } = checkSession(username, cenToken);
      reply(
        res,
        code,
        code === 0 && admin !== undefined ? JSON.stringify({ username, checkedBy: admin.username, userId: users.get(username)?.userId }) : null,
      );
    };
    const delay = (active?.latencyMs ?? 0) + Math.random() * (active?.jitterMs ?? 0);
    if (delay > 0) later(delay, answer);
    else answer();
  }

  async function answerSignIn(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body ?? '');
    } catch {
      parsed = undefined;
    }
    if (typeof parsed !== 'object' || parsed === null) {
      reply(res, RETURN_CODES.INVALID_INPUT);
      return;
    }
    const fields = parsed as Record<string, unknown>;
    const text = (name: string): string | undefined => {
      const value = fields[name];
      return typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
    };
    const username = text('username');
    const password = text('password');
    const integrationKey = text('integrationKey');
    const unixTimestamp = text('unixTimestamp');
    const hmac = text('hmac');
    if (!username || !password || !integrationKey || !unixTimestamp || !hmac || !/^\d+$/.test(unixTimestamp)) {
      reply(res, RETURN_CODES.INVALID_INPUT);
      return;
    }
    if (integrationKey !== app.integrationKey || Math.abs(Date.now() / 1000 - Number(unixTimestamp)) > maxClockSkewSeconds) {
      reply(res, RETURN_CODES.INVALID_INPUT);
      return;
    }
    const expected = signInHmac(app.secretKey, {
      username,
      password,
      integrationKey,
      unixTimestamp,
      userAgent: text('userAgent') ?? '',
      supportFido: text('supportFido') ?? '',
      browserFp: text('browserFp') ?? '',
      ipAddress: text('ipAddress') ?? '',
    });
    if (!safeEqual(expected, hmac.toLowerCase())) {
      reply(res, RETURN_CODES.PERMISSION_NOT_ALLOWED);
      return;
    }
    try {
      const signIn = checkPassword(username, password);
      reply(res, RETURN_CODES.SUCCESS, JSON.stringify(signIn));
    } catch (error) {
      reply(res, error instanceof EmulatorSignInError ? error.returnCode : RETURN_CODES.INVALID_INPUT);
    }
  }

  function route(req: IncomingMessage, res: ServerResponse): void {
    const target = req.url ?? '/';
    requestLog.push(`${req.method ?? ''} ${target}`);
    if (requestLog.length > REQUEST_LOG_LENGTH) requestLog.shift();
    const path = target.split('?')[0] ?? '';
    if (!path.startsWith(`${basePath}/`)) {
      reply(res, RETURN_CODES.INVALID_INPUT, null, 404);
      return;
    }
    const segments = path.slice(basePath.length + 1).split('/');
    let decoded: string[];
    try {
      decoded = segments.map((segment) => decodeURIComponent(segment));
    } catch {
      reply(res, RETURN_CODES.INVALID_INPUT);
      return;
    }
    const [first, second, username, cenToken] = decoded;
    if (first === 'session' && second === 'check' && segments.length === 4) {
      if (req.method !== 'PUT' && req.method !== 'GET') {
        reply(res, RETURN_CODES.INVALID_INPUT, null, 405);
        return;
      }
      answerCheck(res, username ?? '', cenToken ?? '');
      return;
    }
    if (first === 'auth' && second === 'authBasic' && segments.length === 2 && req.method === 'POST') {
      void answerSignIn(req, res);
      return;
    }
    if (first === 'emulator' && second === 'signOut' && segments.length === 4 && req.method === 'POST') {
      const { code } = checkSession(username ?? '', cenToken ?? '');
      if (code === RETURN_CODES.SUCCESS) signOut(username ?? '');
      reply(res, code);
      return;
    }
    reply(res, RETURN_CODES.INVALID_INPUT, null, 404);
  }

  const server = createServer(route);
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const hostInUrl = host.includes(':') ? `[${host}]` : host;

  return {
    baseUrl: `http://${hostInUrl}:${port}${basePath}`,
    app,
    users: [...users.values()].map(({ username, password, role }) => ({ username, password, role })),
    // A throw inside the executor rejects the promise (unknown user, wrong password).
    signIn: (username, password) =>
      new Promise((resolve) => {
        resolve(password === undefined ? openSession(username) : checkPassword(username, password));
      }),
    signOut: (username) => Promise.resolve(signOut(username)),
    setFault: (next) => {
      fault = next === undefined ? undefined : { ...next };
    },
    stats: () => ({ checks, signIns }),
    requestLog,
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const timer of pendingTimers) clearTimeout(timer);
        pendingTimers.clear();
        server.close((error) => {
          if (error) reject(error);
          else resolve();
        });
        server.closeAllConnections();
      }),
  };
}
