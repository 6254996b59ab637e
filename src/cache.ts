import { LRUCache } from 'lru-cache';
import { CentagateSessionError, CentagateUnavailableError } from './errors.js';
import type { CentagateSessionStore } from './store.js';
import type { CentagateCacheOptions } from './types.js';
import { fromShared, toShared, type Verdict } from './verdict.js';

type ActiveVerdict = Extract<Verdict, { active: true }>;
type DeniedVerdict = Extract<Verdict, { active: false }>;

/** Where a check's answer came from. */
type Origin = 'upstream' | 'shared' | 'stale';

/** What a check settled with. */
interface CheckResult {
  verdict: Verdict;
  origin: Origin;
}

/** What a lookup found. */
export interface Lookup {
  verdict: Verdict;
  /** Answered from a cache: the local tier, the shared tier, or a stale entry. */
  cached: boolean;
  /** Answered from the shared tier (another replica asked CENTAGATE). */
  shared: boolean;
  /** Joined a check that another request had already sent. */
  coalesced: boolean;
  /** An expired active entry served because CENTAGATE could not answer (`staleIfErrorMs`). */
  stale: boolean;
}

/** Asks CENTAGATE; throws a 503-class error when it cannot say. */
export type CheckUpstream<C> = (username: string, cenToken: string, context: C) => Promise<Verdict>;

interface FetchContext<C> {
  username: string;
  cenToken: string;
  extra: C;
}

const CEN_TOKEN_LENGTH = 64;
/** How often a lookup starts over when `invalidate`/`clear` dropped its check while in flight. */
const MAX_RESTARTS = 3;

/**
 * CENTAGATE's answers, in two LRUs so that denials cannot flush active sessions: a flood of
 * junk usernames fills only the (smaller) denial LRU. A third lru-cache, holding only checks
 * in flight, makes concurrent lookups of one key share a single upstream check (`fetch()`).
 * Active answers live `ttlMs`, denials `negativeTtlMs`, 503 outcomes are never kept, and with
 * `staleIfErrorMs` a recently expired active answer is served when the check fails.
 *
 * Keys: with one static cenToken the username alone (smaller entries); with per-request
 * credentials the cenToken followed by the username, so distinct credentials never share.
 */
export class SessionCache<C = undefined> {
  readonly #active: LRUCache<string, ActiveVerdict>;
  readonly #denied: LRUCache<string, DeniedVerdict> | undefined;
  readonly #checks: LRUCache<string, CheckResult, FetchContext<C>>;
  /** Keys whose check is running in fetchMethod (a count: a dropped check may overlap its successor). */
  readonly #inFlight = new Map<string, number>();
  readonly #settings: Readonly<Required<CentagateCacheOptions>>;
  readonly #staticCenToken: string | undefined;

  constructor(
    settings: Readonly<Required<CentagateCacheOptions>>,
    checkUpstream: CheckUpstream<C>,
    options: {
      staticCenToken?: string;
      /**
       * Bound of the coalescing LRU: checks running or waiting at once (each entry is deleted when
       * it settles). lru-cache allocates its arrays up front, so this is also a fixed memory cost.
       */
      maxChecks?: number;
      /** The shared tier, read before CENTAGATE and written after it. */
      store?: CentagateSessionStore | undefined;
    } = {},
  ) {
    this.#settings = settings;
    this.#staticCenToken = options.staticCenToken;
    const { ttlMs, negativeTtlMs, negativeMax, staleIfErrorMs, max } = settings;
    // Expired entries are kept until replaced or evicted, so that staleIfErrorMs has something to serve.
    this.#active = new LRUCache<string, ActiveVerdict>({ max, ttl: ttlMs, noDeleteOnStaleGet: staleIfErrorMs > 0 });
    this.#denied = negativeTtlMs > 0 ? new LRUCache<string, DeniedVerdict>({ max: negativeMax, ttl: negativeTtlMs }) : undefined;
    const { store } = options;
    this.#checks = new LRUCache<string, CheckResult, FetchContext<C>>({
      max: options.maxChecks ?? 2_000,
      fetchMethod: async (key, _previous, { signal, context }) => {
        const { username, cenToken } = context;
        this.#inFlight.set(key, (this.#inFlight.get(key) ?? 0) + 1);
        try {
          if (store !== undefined) {
            const shared = await store.get(username, cenToken);
            const remainingMs = shared === undefined ? 0 : shared.expiresAt - Date.now();
            if (signal.aborted) return undefined;
            if (shared !== undefined && remainingMs > 0) {
              const verdict = fromShared(shared);
              this.#keep(key, verdict, remainingMs);
              return { verdict, origin: 'shared' };
            }
          }
          const verdict = await checkUpstream(username, cenToken, context.extra);
          // invalidate() or clear() dropped this check while it ran: its answer may predate a sign-out.
          if (signal.aborted) return undefined;
          const ttl = this.#keep(key, verdict);
          if (store !== undefined && ttl > 0) void store.set(username, cenToken, toShared(verdict, ttl), ttl);
          return { verdict, origin: 'upstream' };
        } catch (error) {
          const stale = this.#active.peek(key, { allowStale: true });
          if (!signal.aborted && error instanceof CentagateSessionError && stale !== undefined && this.#servableStale(stale)) {
            return { verdict: stale, origin: 'stale' };
          }
          throw error;
        } finally {
          const left = (this.#inFlight.get(key) ?? 1) - 1;
          if (left === 0) this.#inFlight.delete(key);
          else this.#inFlight.set(key, left);
        }
      },
    });
  }

  /** Keeps a verdict in its LRU for `ttl` (default: its kind's TTL); returns the TTL used, 0 when not kept. */
  #keep(key: string, verdict: Verdict, ttl?: number): number {
    if (verdict.active) {
      const kept = Math.min(ttl ?? this.#settings.ttlMs, this.#settings.ttlMs);
      this.#active.set(key, verdict, { ttl: kept });
      return kept;
    }
    if (this.#denied === undefined) return 0;
    const kept = Math.min(ttl ?? this.#settings.negativeTtlMs, this.#settings.negativeTtlMs);
    this.#denied.set(key, verdict, { ttl: kept });
    return kept;
  }

  #servableStale(verdict: ActiveVerdict): boolean {
    const { ttlMs, staleIfErrorMs } = this.#settings;
    return staleIfErrorMs > 0 && performance.now() - verdict.confirmedAt <= ttlMs + staleIfErrorMs;
  }

  #key(username: string, cenToken: string): string {
    return cenToken === this.#staticCenToken ? username : cenToken + username;
  }

  /** The answer held for (username, cenToken) if it is still fresh: the synchronous hit path. */
  fresh(username: string, cenToken: string): Verdict | undefined {
    const key = this.#key(username, cenToken);
    return this.#active.get(key) ?? this.#denied?.get(key);
  }

  /**
   * Asks CENTAGATE about (username, cenToken) once for all concurrent callers; call it when
   * `fresh()` found nothing.
   */
  async check(username: string, cenToken: string, extra: C): Promise<Lookup> {
    const key = this.#key(username, cenToken);
    for (let restart = 0; restart <= MAX_RESTARTS; restart += 1) {
      const status: LRUCache.Status<string, CheckResult, FetchContext<C>> = {};
      let result: CheckResult | undefined;
      try {
        result = await this.#checks.fetch(key, { context: { username, cenToken, extra }, status });
      } catch (error) {
        // checkUpstream throws only CentagateSessionErrors; anything else is lru-cache saying that
        // invalidate(), clear() or eviction dropped the check while it was in flight: ask again.
        if (error instanceof CentagateSessionError) throw error;
        continue;
      }
      if (result === undefined) continue;
      // The check settled: the answer now lives in the active or denied LRU (or nowhere, for a stale one).
      if (this.#checks.peek(key) === result) this.#checks.delete(key);
      const { verdict, origin } = result;
      return { verdict, cached: origin !== 'upstream', shared: origin === 'shared', coalesced: status.fetch === 'inflight', stale: origin === 'stale' };
    }
    // Dropped again and again (invalidated, or evicted by more checks at once than maxChecks): give up as overloaded.
    throw new CentagateUnavailableError('overloaded', 'The session check was dropped repeatedly while in flight.');
  }

  /** Drops every entry of `username`, whatever its credentials, checks in flight included. Returns how many. */
  invalidate(username: string): number {
    let dropped = 0;
    const drop = (key: string): void => {
      const inActive = this.#active.delete(key);
      const inDenied = this.#denied?.delete(key) ?? false;
      const inChecks = this.#checks.delete(key);
      if (inActive || inDenied || inChecks) dropped += 1;
    };
    if (this.#staticCenToken !== undefined) {
      drop(username);
      // Per-request keys cannot occur with static credentials.
      return dropped;
    }
    const keys = new Set<string>(this.#inFlight.keys());
    for (const [key] of this.#active.dump()) keys.add(key);
    if (this.#denied !== undefined) for (const key of this.#denied.keys()) keys.add(key);
    // Per-request keys are the 64-digit cenToken followed by the username.
    for (const key of keys) if (key.slice(CEN_TOKEN_LENGTH) === username) drop(key);
    return dropped;
  }

  /** Drops every entry, checks in flight included. */
  clear(): void {
    this.#checks.clear();
    this.#active.clear();
    this.#denied?.clear();
  }

  /** Active and denied entries held (checks in flight not included). */
  get size(): number {
    return this.#active.size + (this.#denied?.size ?? 0);
  }
}
