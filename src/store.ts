import type { Logger } from 'pino';

/** A CENTAGATE answer as a shared store keeps it: what any replica may serve instead of asking again. */
export interface SharedVerdict {
  /** `true` for code 0. */
  active: boolean;
  /** CENTAGATE's message. */
  message: string;
  /** The reply's object (active answers only). */
  object?: unknown;
  /** Epoch ms when CENTAGATE gave the answer. */
  checkedAt: number;
  /** Epoch ms after which the answer must not be served. */
  expiresAt: number;
  /** Why it denied (denials only). */
  reason?: 'session_inactive' | 'invalid_input' | 'rejected';
  /** CENTAGATE's return code (denials only). */
  returnCode?: number;
}

/** What `requireCentagateSession` tells its store once, at start-up. */
export interface StoreInit {
  /**
   * A key derived from the app's static credentials (never the credentials themselves),
   * the same on every replica configured alike; `undefined` with per-request credentials.
   */
  derivedKey: Buffer | undefined;
  /** How long active answers are kept (ms). */
  ttlMs: number;
  /** How long denials are kept (ms). */
  negativeTtlMs: number;
  /** The middleware's limit for one CENTAGATE attempt (ms): a store should answer well within it. */
  timeoutMs: number;
  /** The middleware's logger, if it was given one. */
  logger: Logger | undefined;
}

/**
 * A second cache tier shared by replicas (in the spirit of express-rate-limit's `Store`).
 * The in-process LRU stays the first tier: a replica with no local entry reads the shared one
 * before asking CENTAGATE, and writes what CENTAGATE said. 503-class outcomes are never shared.
 *
 * Every method must settle quickly and never reject: a store that cannot answer answers
 * "nothing" (`get` → `undefined`) and the middleware carries on with the local tier and CENTAGATE.
 */
export interface CentagateSessionStore {
  /** Called once per middleware with what the store needs from the app's configuration; may throw a TypeError. */
  init?(init: StoreInit): void;
  /** The shared answer for (username, cenToken), or `undefined`. */
  get(username: string, cenToken: string): Promise<SharedVerdict | undefined>;
  /** Shares an answer for `ttlMs`. */
  set(username: string, cenToken: string, verdict: SharedVerdict, ttlMs: number): Promise<void>;
  /** Deletes every shared answer of `username` and tells every replica to drop its own. */
  invalidate(username: string): Promise<void>;
  /** Registers a listener for invalidations from any replica (this one included). Returns a function that removes it. */
  subscribe(listener: (username: string) => void): () => void;
}
