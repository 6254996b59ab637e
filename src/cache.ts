import { LRUCache } from 'lru-cache';
import { CentagateSessionError, CentagateUnavailableError } from './errors.js';
import type { CentagateCacheOptions } from './types.js';
import type { Verdict } from './verdict.js';

type ActiveVerdict = Extract<Verdict, { active: true }>;
type DeniedVerdict = Extract<Verdict, { active: false }>;

/** What a lookup found. */
export interface Lookup {
  verdict: Verdict;
  /** Answered from an entry that existed when the lookup began (a stale one included). */
  cached: boolean;
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
  readonly #checks: LRUCache<string, Verdict, FetchContext<C>>;
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
    } = {},
  ) {
    this.#settings = settings;
    this.#staticCenToken = options.staticCenToken;
    const { ttlMs, negativeTtlMs, negativeMax, staleIfErrorMs, max } = settings;
    // Expired entries are kept until replaced or evicted, so that staleIfErrorMs has something to serve.
    this.#active = new LRUCache<string, ActiveVerdict>({ max, ttl: ttlMs, noDeleteOnStaleGet: staleIfErrorMs > 0 });
    this.#denied = negativeTtlMs > 0 ? new LRUCache<string, DeniedVerdict>({ max: negativeMax, ttl: negativeTtlMs }) : undefined;
    this.#checks = new LRUCache<string, Verdict, FetchContext<C>>({
      max: options.maxChecks ?? 2_000,
      fetchMethod: async (key, _previous, { signal, context }) => {
        this.#inFlight.set(key, (this.#inFlight.get(key) ?? 0) + 1);
        try {
          const verdict = await checkUpstream(context.username, context.cenToken, context.extra);
          // invalidate() or clear() dropped this check while it ran: its answer may predate a sign-out.
          if (signal.aborted) return undefined;
          if (verdict.active) this.#active.set(key, verdict);
          else this.#denied?.set(key, verdict);
          return verdict;
        } catch (error) {
          const stale = this.#active.peek(key, { allowStale: true });
          if (!signal.aborted && error instanceof CentagateSessionError && stale !== undefined && this.#servableStale(stale)) return stale;
          throw error;
        } finally {
          const left = (this.#inFlight.get(key) ?? 1) - 1;
          if (left === 0) this.#inFlight.delete(key);
          else this.#inFlight.set(key, left);
        }
      },
    });
  }

  #servableStale(verdict: ActiveVerdict): boolean {
    const { ttlMs, staleIfErrorMs } = this.#settings;
    return staleIfErrorMs > 0 && performance.now() - verdict.confirmedAt <= ttlMs + staleIfErrorMs;
  }

  #key(username: string, cenToken: string): string {
    return cenToken === this.#staticCenToken ? username : cenToken + username;
  }

  #usernameOf(key: string): string {
    return this.#staticCenToken === undefined ? key.slice(CEN_TOKEN_LENGTH) : key;
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
    const began = performance.now();
    for (let restart = 0; restart <= MAX_RESTARTS; restart += 1) {
      const status: LRUCache.Status<string, Verdict, FetchContext<C>> = {};
      let verdict: Verdict | undefined;
      try {
        verdict = await this.#checks.fetch(key, { context: { username, cenToken, extra }, status });
      } catch (error) {
        // checkUpstream throws only CentagateSessionErrors; anything else is lru-cache saying that
        // invalidate(), clear() or eviction dropped the check while it was in flight: ask again.
        if (error instanceof CentagateSessionError) throw error;
        continue;
      }
      if (verdict === undefined) continue;
      // The check settled: the answer now lives in the active or denied LRU (or nowhere, for a stale one).
      if (this.#checks.peek(key) === verdict) this.#checks.delete(key);
      // A fetched answer is newer than the lookup; an older one is the stale entry served on error.
      const stale = verdict.confirmedAt < began;
      return { verdict, cached: stale, coalesced: status.fetch === 'inflight', stale };
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
    for (const key of keys) if (this.#usernameOf(key) === username) drop(key);
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

  /** Checks in flight or waiting for a place. */
  get checksInFlight(): number {
    return this.#inFlight.size;
  }
}
