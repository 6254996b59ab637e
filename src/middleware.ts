import { createHmac } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { CircuitBreaker } from './breaker.js';
import { SessionCache, type Lookup } from './cache.js';
import { computeCenToken } from './cen-token.js';
import { CentagateClient } from './client.js';
import { CentagateSessionError, CentagateUnauthorizedError, CentagateUnavailableError } from './errors.js';
import { ConcurrencyLimit } from './limiter.js';
import { parseOptions, type SessionConfig } from './options.js';
import { attachSession } from './request-session.js';
import type { CentagateDenial, CentagateSession, CentagateSessionOptions, CentagateSessionStats, GetUsername } from './types.js';
import { usernameProblem } from './username.js';
import { verdictOf, type Verdict } from './verdict.js';

/** The middleware `requireCentagateSession` returns, with its cache controls. */
export interface CentagateSessionMiddleware {
  (req: Request, res: Response, next: NextFunction): void;
  /** Drops every cached answer for `username`, whatever its credentials (e.g. at logout). Returns how many. */
  invalidate(username: string): number;
  /** Drops every cached answer. */
  clear(): void;
  /** Counters since the middleware was made. */
  stats(): CentagateSessionStats;
  /** Releases the keep-alive sockets to CENTAGATE (e.g. at shutdown). */
  close(): void;
}

/** What the middleware decided for one request. */
type Decision =
  | { kind: 'anonymous' }
  | { kind: 'allowed'; session: CentagateSession; coalesced: boolean; stale: boolean }
  | { kind: 'denied'; error: CentagateSessionError; username: string | undefined; cached: boolean };

const LOGGED_USERNAME_LENGTH = 300;
/** Checks that may wait for a place, per place of `maxInFlight`. */
const QUEUE_PER_PLACE = 10;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function loggerFor(req: Request, configured: Logger | undefined): Logger | undefined {
  if (configured !== undefined) return configured;
  const log: unknown = (req as { log?: unknown }).log;
  return typeof log === 'object' && log !== null && typeof (log as Partial<Logger>).info === 'function' ? (log as Logger) : undefined;
}

function checkCredentials(value: unknown): asserts value is { adminUsername: string; authToken: string; secretCode: string } {
  const given = value as Partial<Record<string, unknown>> | null | undefined;
  if (
    typeof given !== 'object' ||
    given === null ||
    typeof given['adminUsername'] !== 'string' ||
    typeof given['authToken'] !== 'string' ||
    typeof given['secretCode'] !== 'string'
  ) {
    throw new TypeError('requireCentagateSession: credentials(req, username) must return { adminUsername, authToken, secretCode } as strings.');
  }
}

/**
 * Makes an Express middleware that lets a request through only while CENTAGATE says the
 * user's session is active (code 0), caching CENTAGATE's answers briefly.
 *
 * Per request: `getUsername(req)` → validation → cenToken → cache → CENTAGATE → `next()`
 * with `req.centagateSession` set, or a 401 (session not valid) / 503 (CENTAGATE could not say).
 *
 * @param getUsername - returns the username to check (or a Promise of it); nothing means no user.
 * @param options - see {@link CentagateSessionOptions}; `baseUrl` and the static credentials fall back to
 *   `CENTAGATE_BASE_URL`, `CENTAGATE_ADMIN_USERNAME`, `CENTAGATE_AUTH_TOKEN` and `CENTAGATE_SECRET_CODE`.
 * @throws TypeError at call time for a getter that is not a function or a bad option, naming it.
 *
 * @example
 * import express from 'express';
 * import { requireCentagateSession } from 'express-centagate-session';
 *
 * // The username comes from your own sign-in (here express-session), never from what the client sends.
 * const requireSession = requireCentagateSession((req) => req.session?.username, {
 *   baseUrl: 'https://cloud.example.com/CentagateWS/webresources',
 *   adminUsername: 'service-account',
 *   authToken: process.env.CENTAGATE_AUTH_TOKEN,
 *   secretCode: process.env.CENTAGATE_SECRET_CODE,
 * });
 * app.get('/api/me', requireSession, (req, res) => res.json({ user: req.centagateSession?.username }));
 * // at logout: requireSession.invalidate(username);
 */
export function requireCentagateSession(getUsername: GetUsername, options?: CentagateSessionOptions): CentagateSessionMiddleware {
  // The factory's arguments are checked at run time too: JavaScript callers get the same TypeErrors.
  const config: SessionConfig = parseOptions(getUsername, options);
  const client = new CentagateClient({
    baseUrl: config.baseUrl,
    method: config.method,
    timeoutMs: config.timeoutMs,
    retries: config.retries,
  });
  const counters = { hits: 0, misses: 0, sharedHits: 0, coalesced: 0, staleServed: 0, denied: 0, unavailable: 0, overloaded: 0 };
  const breaker =
    config.breaker === false
      ? undefined
      : new CircuitBreaker<Logger | undefined>(config.breaker, (state, logger) => {
          const line = { breaker: state, failures: config.breaker === false ? 0 : config.breaker.failures };
          if (state === 'open') logger?.error(line, 'centagate: CENTAGATE keeps failing; not asking it during the cool-down');
          else logger?.warn(line, `centagate: circuit breaker ${state}`);
        });
  const limiter = new ConcurrencyLimit(config.maxInFlight, config.maxInFlight * QUEUE_PER_PLACE);
  const overloaded = (): CentagateUnavailableError => {
    counters.overloaded += 1;
    return new CentagateUnavailableError('overloaded', 'Too many CENTAGATE checks in flight; this one could not wait for a place.');
  };

  /** One upstream check: a place in the limit, the breaker's leave, CENTAGATE, the verdict. */
  async function checkUpstream(username: string, cenToken: string, logger: Logger | undefined): Promise<Verdict> {
    await limiter.acquire(config.timeoutMs, overloaded);
    try {
      const admission = breaker?.admit(logger) ?? { admitted: true };
      if (!admission.admitted) {
        throw new CentagateUnavailableError('breaker_open', 'CENTAGATE failed repeatedly; not asking it until the cool-down ends.', {
          retryAfterSeconds: admission.retryAfterMs / 1000,
        });
      }
      let verdict: Verdict;
      try {
        verdict = verdictOf(await client.checkSession({ username, cenToken }));
      } catch (error) {
        breaker?.failed(logger);
        throw error;
      }
      breaker?.succeeded(logger);
      return verdict;
    } finally {
      limiter.release();
    }
  }
  const cache =
    config.cache === false
      ? undefined
      : new SessionCache<Logger | undefined>(config.cache, checkUpstream, {
          ...(config.credentials.kind === 'static' ? { staticCenToken: config.credentials.cenToken } : {}),
          // Running and queued checks, twice over: eviction of a check in flight only restarts it.
          maxChecks: config.maxInFlight * (1 + QUEUE_PER_PLACE) * 2,
          store: config.store,
        });
  // The shared tier: told the app's configuration once, and every replica's sign-outs drop local entries here.
  let unsubscribe: (() => void) | undefined;
  if (config.store !== undefined && config.cache !== false) {
    config.store.init?.({
      derivedKey:
        config.credentials.kind === 'static'
          ? createHmac('sha256', config.credentials.cenToken).update('express-centagate-session/shared-store').digest()
          : undefined,
      ttlMs: config.cache.ttlMs,
      negativeTtlMs: config.cache.negativeTtlMs,
      timeoutMs: config.timeoutMs,
      logger: config.logger,
    });
    unsubscribe = config.store.subscribe((username) => cache?.invalidate(username));
  }

  const unauthorized = (reason: 'missing_username' | 'invalid_username', message: string) =>
    new CentagateUnauthorizedError(reason, message, { realm: config.realm });

  /** The answer for a request once the lookup is done: counted, and turned into a decision. */
  function decisionOf(username: string, { verdict, cached, shared, coalesced, stale }: Lookup): Decision {
    if (cached) counters.hits += 1;
    else counters.misses += 1;
    if (shared) counters.sharedHits += 1;
    if (coalesced) counters.coalesced += 1;
    if (!verdict.active) {
      const error = new CentagateUnauthorizedError(verdict.reason, `CENTAGATE did not confirm the session (code ${verdict.returnCode}).`, {
        returnCode: verdict.returnCode,
        realm: config.realm,
      });
      return { kind: 'denied', error, username, cached };
    }
    const session: CentagateSession = {
      username,
      code: 0,
      message: verdict.message,
      object: verdict.object,
      checkedAt: verdict.checkedAt,
      cached,
    };
    return { kind: 'allowed', session, coalesced, stale };
  }

  /** Cache, then CENTAGATE. Synchronous on a cache hit, so a hit costs no promise at all. */
  function decideWithToken(username: string, cenToken: string, logger: Logger | undefined): Decision | Promise<Decision> {
    if (cache !== undefined) {
      const fresh = cache.fresh(username, cenToken);
      if (fresh !== undefined) return decisionOf(username, { verdict: fresh, cached: true, shared: false, coalesced: false, stale: false });
    }
    const pending =
      cache === undefined
        ? checkUpstream(username, cenToken, logger).then((verdict): Lookup => ({ verdict, cached: false, shared: false, coalesced: false, stale: false }))
        : cache.check(username, cenToken, logger);
    return pending.then(
      (found) => decisionOf(username, found),
      (error: unknown): Decision => {
        if (error instanceof CentagateSessionError) return { kind: 'denied', error, username, cached: false };
        throw error;
      },
    );
  }

  /** From the username on: validation, credentials, then the lookup. */
  function decideFor(req: Request, username: unknown, logger: Logger | undefined): Decision | Promise<Decision> {
    if (username === undefined || username === null || username === '') {
      if (config.optional) return { kind: 'anonymous' };
      return { kind: 'denied', error: unauthorized('missing_username', 'No username to check.'), username: undefined, cached: false };
    }
    if (typeof username !== 'string') {
      throw new TypeError(`requireCentagateSession: getUsername must return a string, null or undefined; got ${typeof username}.`);
    }
    const problem = usernameProblem(username);
    if (problem !== undefined) {
      return { kind: 'denied', error: unauthorized('invalid_username', `The username is invalid: ${problem}.`), username, cached: false };
    }
    const source = config.credentials;
    if (source.kind === 'static') return decideWithToken(username, source.cenToken, logger);
    return Promise.resolve(source.resolve(req, username)).then((credentials: unknown) => {
      checkCredentials(credentials);
      return decideWithToken(username, computeCenToken(credentials), logger);
    });
  }

  /**
   * Everything up to the answer: synchronous when getUsername returns a value, the credentials
   * are static and the cache holds the answer. Throws or rejects only when getUsername or
   * credentials did.
   */
  function decide(req: Request, logger: Logger | undefined): Decision | Promise<Decision> {
    const username: unknown = config.getUsername(req);
    if (isThenable(username)) return Promise.resolve(username).then((resolved) => decideFor(req, resolved, logger));
    return decideFor(req, username, logger);
  }

  function log(logger: Logger, decision: Decision, durationMs: number): void {
    const duration = Math.round(durationMs * 1000) / 1000;
    switch (decision.kind) {
      case 'anonymous':
        logger.debug({ outcome: 'anonymous', durationMs: duration }, 'centagate: no username, passing on without a session');
        return;
      case 'allowed': {
        const { session } = decision;
        const line = { username: session.username, outcome: 'allowed', code: 0, cached: session.cached, durationMs: duration };
        if (decision.stale) {
          logger.warn({ ...line, stale: true }, 'centagate: CENTAGATE could not answer; serving an expired active session (staleIfErrorMs)');
        } else {
          logger.debug(line, 'centagate: session active');
        }
        return;
      }
      case 'denied': {
        const { error } = decision;
        const line = {
          username: decision.username?.slice(0, LOGGED_USERNAME_LENGTH),
          outcome: error.status === 401 ? 'denied' : 'unavailable',
          reason: error.code,
          code: error.returnCode,
          cached: decision.cached,
          durationMs: duration,
        };
        if (error.status === 401) logger.info(line, `centagate: session not valid (${error.code})`);
        else logger.warn({ ...line, err: error }, `centagate: CENTAGATE could not say (${error.code})`);
        return;
      }
    }
  }

  function deny(decision: Extract<Decision, { kind: 'denied' }>, req: Request, res: Response, next: NextFunction): void {
    const { error } = decision;
    if (error.status === 401) counters.denied += 1;
    else counters.unavailable += 1;
    if (config.onDenied !== undefined) {
      const denial: CentagateDenial = {
        status: error.status,
        reason: error.code,
        ...(error.returnCode === undefined ? {} : { code: error.returnCode }),
        error,
      };
      const handled = config.onDenied(denial, req, res, next);
      if (handled instanceof Promise) handled.catch(next);
      return;
    }
    if (res.headersSent) {
      next(error);
      return;
    }
    res.status(error.status).set(error.headers).json({
      error: error.status === 401 ? 'unauthorized' : 'unavailable',
      reason: error.code,
      ...(error.returnCode === undefined ? {} : { code: error.returnCode }),
    });
  }

  function act(decision: Decision, req: Request, res: Response, next: NextFunction, logger: Logger | undefined, started: number): void {
    if (logger !== undefined) log(logger, decision, performance.now() - started);
    switch (decision.kind) {
      case 'anonymous':
        next();
        return;
      case 'allowed':
        if (decision.stale) counters.staleServed += 1;
        attachSession(req, decision.session);
        next();
        return;
      case 'denied':
        deny(decision, req, res, next);
        return;
    }
  }

  function finish(decision: Decision, req: Request, res: Response, next: NextFunction, logger: Logger | undefined, started: number): void {
    try {
      act(decision, req, res, next, logger, started);
    } catch (error) {
      // Only onDenied or a logger can throw here: next() does not.
      next(error);
    }
  }

  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    const logger = loggerFor(req, config.logger);
    // Time only what is logged: performance.now() is not free on the hit path.
    const started = logger === undefined ? 0 : performance.now();
    let decision: Decision | Promise<Decision>;
    try {
      decision = decide(req, logger);
    } catch (error) {
      next(error);
      return;
    }
    if (decision instanceof Promise) {
      decision.then((settled) => {
        finish(settled, req, res, next, logger, started);
      }, next);
    } else {
      finish(decision, req, res, next, logger, started);
    }
  };

  return Object.assign(middleware, {
    invalidate(username: string): number {
      // Every replica's shared entries and local ones (through the store's message), then ours at once.
      void config.store?.invalidate(username);
      return cache?.invalidate(username) ?? 0;
    },
    clear(): void {
      cache?.clear();
    },
    stats(): CentagateSessionStats {
      return {
        size: cache?.size ?? 0,
        ...counters,
        upstreamRequests: client.stats().upstreamRequests,
        checksInFlight: limiter.active + limiter.waiting,
        breakerState: breaker?.state ?? 'off',
        breakerOpened: breaker?.opened ?? 0,
        breakerRejected: breaker?.rejected ?? 0,
      };
    },
    close(): void {
      unsubscribe?.();
      client.close();
    },
  });
}
