import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import type { CentagateCredentials } from './cen-token.js';
import type { BreakerOptions } from './breaker.js';
import type { CentagateSessionError, DenialReason } from './errors.js';
import type { CentagateSessionStore } from './store.js';

/** What `req.centagateSession` holds once CENTAGATE confirmed the session (code 0). */
export interface CentagateSession {
  /** The username whose session CENTAGATE confirmed. */
  username: string;
  /** CENTAGATE's return code: always `0` here. */
  code: 0;
  /** CENTAGATE's message. */
  message: string;
  /** The reply's `object`; a string holding a JSON object or array is parsed (and frozen), any other value is kept as sent. */
  object: unknown;
  /** Epoch ms when CENTAGATE confirmed the session. */
  checkedAt: number;
  /** `true` when this request was answered from the cache. */
  cached: boolean;
}

declare global {
  // Declaration merging onto the global Express namespace works with the types of Express 4 and 5.
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by `requireCentagateSession` when CENTAGATE confirmed the session. */
      centagateSession?: CentagateSession;
    }
  }
}

/** Returns the username to check for a request; nothing (`undefined`, `null`, `''`) means no user. */
export type GetUsername = (req: Request) => string | null | undefined | Promise<string | null | undefined>;

/** Returns the credentials that authorise the check of `username` for this request. */
export type CredentialsResolver = (
  req: Request,
  username: string,
) => CentagateCredentials | Promise<CentagateCredentials>;

/** Why and how a request was denied; handed to `onDenied`. */
export interface CentagateDenial {
  /** 401 (session not valid) or 503 (CENTAGATE could not say). */
  status: 401 | 503;
  /** The stable reason, e.g. `session_inactive`. */
  reason: DenialReason;
  /** CENTAGATE's return code, when CENTAGATE gave one. */
  code?: number;
  /** The typed error: `next(denial.error)` hands it to Express's error handling. */
  error: CentagateSessionError;
}

/** Replaces the default 401/503 answer, e.g. with a redirect to a login page. */
export type OnDenied = (denial: CentagateDenial, req: Request, res: Response, next: NextFunction) => void | Promise<void>;

/** Caching of CENTAGATE's answers. */
export interface CentagateCacheOptions {
  /**
   * How long (ms) an active session (code 0) is trusted without asking CENTAGATE again.
   * Default `30000`. Hazard: a session ended in CENTAGATE stays trusted here for up
   * to this long unless the app calls `invalidate(username)` (e.g. at logout).
   */
  ttlMs?: number;
  /**
   * How long (ms) a 401 answer (codes 10001, 10002 and unknown codes) is remembered.
   * Default `5000`. Hazard: a user who signs in again right after a denial may be
   * denied for up to this long unless the app calls `invalidate(username)` at sign-in.
   */
  negativeTtlMs?: number;
  /** Most active sessions kept (least recently used go first). Default `10000`. Bounds memory. */
  max?: number;
  /**
   * Most denials kept, in an LRU of their own so that a flood of junk usernames cannot
   * evict active sessions. Default `1000`.
   */
  negativeMax?: number;
  /**
   * When CENTAGATE cannot answer (a 503 outcome), an active entry that expired less than
   * this long ago (ms) is served instead (`cached: true`) and a warning is logged.
   * Default `0` (off: fail closed). Hazard: extends trust past `ttlMs` during an outage.
   */
  staleIfErrorMs?: number;
}

/** Options of `requireCentagateSession`. */
export interface CentagateSessionOptions {
  /**
   * CENTAGATE's web-resources root, e.g. `https://cloud.example.com/CentagateWS/webresources`.
   * Default: the environment variable `CENTAGATE_BASE_URL`. Required one way or the other.
   */
  baseUrl?: string | URL;
  /**
   * Username of the static credentials (a service account, usually).
   * Default: `CENTAGATE_ADMIN_USERNAME`. Not used when `credentials` is given.
   */
  adminUsername?: string;
  /**
   * `authToken` of the static credentials. Default: `CENTAGATE_AUTH_TOKEN`.
   * Secret: never logged; only the cenToken computed from it is kept.
   */
  authToken?: string;
  /**
   * `secretCode` of the static credentials. Default: `CENTAGATE_SECRET_CODE`.
   * Secret: never logged; only the cenToken computed from it is kept.
   */
  secretCode?: string;
  /**
   * Per-request credentials, used instead of the static ones: e.g. the signed-in user's own
   * `authToken`/`secretCode` from its session, or a service account's rotating token.
   * May return a Promise. If it throws or rejects, the error goes to `next(err)`.
   */
  credentials?: CredentialsResolver;
  /** HTTP method of the check. Default `'PUT'` (the vendor's page); `'GET'` is what its samples send. */
  method?: 'PUT' | 'GET';
  /**
   * Limit for one upstream attempt, in ms. Default `2000`. Hazard: a request may wait up to
   * `timeoutMs × (retries + 1)` plus a short back-off when CENTAGATE hangs.
   */
  timeoutMs?: number;
  /**
   * Extra attempts, only after a network error, a timed-out attempt or HTTP 502/503/504.
   * Default `1`. Range 0–10.
   */
  retries?: number;
  /**
   * Caching of answers; `false` asks CENTAGATE on every request.
   * Default `{ ttlMs: 30000, negativeTtlMs: 5000, max: 10000, negativeMax: 1000, staleIfErrorMs: 0 }`.
   */
  cache?: CentagateCacheOptions | false;
  /**
   * When `getUsername` yields nothing: `true` calls `next()` with no session, `false` answers
   * 401 `missing_username`. Default `false`. A username that is present but invalid is always denied.
   */
  optional?: boolean;
  /**
   * A pino logger for one line per decision. Default: `req.log` when pino-http put one there,
   * else silent. Secrets and the upstream URL are never logged.
   */
  logger?: Logger;
  /**
   * Replaces the default 401/503 JSON answer: `(denial, req, res, next) => void`.
   * Default: JSON `{ error, reason, code? }` with `WWW-Authenticate` (401) or `Retry-After` (503).
   */
  onDenied?: OnDenied;
  /**
   * Fail fast while CENTAGATE is down: after `failures` consecutive 503-class outcomes
   * (default 5) no check goes upstream for `cooldownMs` (default 5000); requests get 503
   * `upstream_unavailable` at once with `Retry-After` set to the time left; then one probe
   * goes through and a success closes the breaker. `false` turns it off.
   */
  breaker?: BreakerOptions | false;
  /**
   * Most distinct upstream checks in flight at once. Default `100`. Up to ten times as many
   * wait in a queue, each for at most `timeoutMs`, then get 503; a full queue answers 503 at once.
   * Requests that join a check already in flight never take a place of their own.
   */
  maxInFlight?: number;
  /**
   * A shared second cache tier for several replicas, e.g. `createRedisStore()` from
   * `express-centagate-session/redis`. The in-process cache stays the first tier; a replica
   * with no local entry reads the shared one before asking CENTAGATE, and `invalidate()`
   * reaches every replica. Default: none. Needs `cache` (not `false`). Closing the store is the app's job.
   */
  store?: CentagateSessionStore;
  /** Realm in the 401's `WWW-Authenticate: CentagateSession realm="…"`. Default `'centagate'`. */
  realm?: string;
}

/** Counters of one middleware. */
export interface CentagateSessionStats {
  /** Entries in the cache (checks in flight included). */
  size: number;
  /** Requests answered from an entry that existed when they arrived (`cached: true`). */
  hits: number;
  /** Every other checked request, those that joined a check already in flight included. */
  misses: number;
  /** Hits answered from the shared tier (`store`), counted in `hits` too. */
  sharedHits: number;
  /** Misses that joined a check already in flight instead of sending their own. */
  coalesced: number;
  /** HTTP requests sent to CENTAGATE, each retry included. */
  upstreamRequests: number;
  /** Requests served from an expired active entry because CENTAGATE could not answer (`staleIfErrorMs`). */
  staleServed: number;
  /** Requests answered 401. */
  denied: number;
  /** Requests answered 503. */
  unavailable: number;
  /** Distinct upstream checks running or waiting for a place now. */
  checksInFlight: number;
  /** The circuit breaker: `closed` (normal), `open` (refusing) or `half-open` (probing); `off` when disabled. */
  breakerState: 'closed' | 'open' | 'half-open' | 'off';
  /** How often the breaker opened. */
  breakerOpened: number;
  /** Upstream checks the open breaker refused (requests that joined one such check count once). */
  breakerRejected: number;
  /** Checks refused because `maxInFlight` places and the queue were taken, or the wait passed its deadline. */
  overloaded: number;
}
