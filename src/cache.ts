import { LRUCache } from 'lru-cache';
import { CentagateSessionError } from './errors.js';
import type { CentagateCacheOptions } from './types.js';
import type { Verdict } from './verdict.js';

/** What a lookup found. */
export interface Lookup {
  verdict: Verdict;
  /** Answered from an entry that existed when the lookup began. */
  cached: boolean;
  /** Joined a check that another request had already sent. */
  coalesced: boolean;
  /** An expired active entry served because CENTAGATE could not answer (`staleIfErrorMs`). */
  stale: boolean;
}

/** Asks CENTAGATE; throws a 503-class error when it cannot say. */
export type CheckUpstream = (username: string, cenToken: string) => Promise<Verdict>;

interface FetchContext {
  username: string;
  cenToken: string;
}

const CEN_TOKEN_LENGTH = 64;
/** How often a lookup starts over when `invalidate`/`clear` dropped its check while in flight. */
const MAX_RESTARTS = 3;

/**
 * CENTAGATE's answers in an LRU keyed by (cenToken, username): lru-cache's `fetch()`
 * makes concurrent lookups of one key share a single upstream check, keeps active
 * answers for `ttlMs` and denials for `negativeTtlMs`, never keeps a 503 outcome,
 * and with `staleIfErrorMs` serves a recently expired active answer when the check fails.
 */
export class SessionCache {
  readonly #lru: LRUCache<string, Verdict, FetchContext>;
  /** Checks running in fetchMethod, by key (a count: a dropped check may overlap its successor). */
  readonly #inFlight = new Map<string, number>();
  readonly #settings: Readonly<Required<CentagateCacheOptions>>;

  constructor(settings: Readonly<Required<CentagateCacheOptions>>, checkUpstream: CheckUpstream, perf?: { now(): number }) {
    this.#settings = settings;
    const { ttlMs, negativeTtlMs, staleIfErrorMs, max } = settings;
    this.#lru = new LRUCache<string, Verdict, FetchContext>({
      max,
      ttl: ttlMs,
      ...(perf === undefined ? {} : { perf }),
      // Stale entries stay until replaced, so that staleIfErrorMs has something to serve.
      allowStale: false,
      allowStaleOnFetchRejection: staleIfErrorMs > 0,
      fetchMethod: async (key, staleValue, { options, context }) => {
        this.#inFlight.set(key, (this.#inFlight.get(key) ?? 0) + 1);
        try {
          const verdict = await checkUpstream(context.username, context.cenToken);
          // lru-cache's ttl 0 means "forever": a zero negativeTtlMs keeps a denial for 1 ms,
          // just long enough for the requests that joined this check.
          options.ttl = verdict.active ? ttlMs : Math.max(1, negativeTtlMs);
          return verdict;
        } catch (error) {
          // Serve the stale entry instead of failing only when it is an active one within the window.
          options.allowStaleOnFetchRejection = staleValue !== undefined && this.#servableStale(staleValue);
          throw error;
        } finally {
          const left = (this.#inFlight.get(key) ?? 1) - 1;
          if (left === 0) this.#inFlight.delete(key);
          else this.#inFlight.set(key, left);
        }
      },
    });
  }

  #servableStale(verdict: Verdict): boolean {
    const { ttlMs, staleIfErrorMs } = this.#settings;
    return verdict.active && staleIfErrorMs > 0 && this.#lru.perf.now() - verdict.confirmedAt <= ttlMs + staleIfErrorMs;
  }

  /** Looks up (username, cenToken), asking CENTAGATE once for all concurrent lookups of a missing key. */
  async lookup(username: string, cenToken: string): Promise<Lookup> {
    const key = cenToken + username;
    for (let restart = 0; restart <= MAX_RESTARTS; restart += 1) {
      const began = this.#lru.perf.now();
      const status: LRUCache.Status<string, Verdict, FetchContext> = {};
      let verdict: Verdict | undefined;
      try {
        verdict = await this.#lru.fetch(key, { context: { username, cenToken }, status });
      } catch (error) {
        // checkUpstream throws only CentagateSessionErrors; anything else is lru-cache saying that
        // invalidate(), clear() or eviction dropped the check while it was in flight: ask again.
        if (error instanceof CentagateSessionError) throw error;
        continue;
      }
      if (verdict === undefined) continue;
      const cached = status.fetch === 'hit';
      // A fetched answer is newer than the lookup; an older one is the stale entry served on error.
      const stale = !cached && verdict.confirmedAt < began;
      return { verdict, cached: cached || stale, coalesced: status.fetch === 'inflight', stale };
    }
    throw new Error('The session check was invalidated repeatedly while in flight.');
  }

  /** Drops every entry of `username`, whatever its credentials, checks in flight included. Returns how many. */
  invalidate(username: string): number {
    const keys = new Set<string>(this.#inFlight.keys());
    for (const [key] of this.#lru.dump()) keys.add(key);
    let dropped = 0;
    for (const key of keys) {
      if (key.length - CEN_TOKEN_LENGTH === username.length && key.endsWith(username) && this.#lru.delete(key)) dropped += 1;
    }
    return dropped;
  }

  /** Drops every entry. */
  clear(): void {
    this.#lru.clear();
  }

  /** Entries held, checks in flight included. */
  get size(): number {
    return this.#lru.size;
  }
}
