import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import type { CentagateSessionStore, SharedVerdict, StoreInit } from '../store.js';

/**
 * The part of an ioredis client the store uses (ioredis 5 and 6 fit). Typed here so that
 * ioredis stays an optional peer dependency: nothing of it is imported at run time.
 */
export interface RedisClientLike {
  mget(...keys: string[]): Promise<(string | null)[]>;
  eval(script: string, numberOfKeys: number, ...args: (string | number)[]): Promise<unknown>;
  publish(channel: string, message: string): Promise<number>;
  duplicate(): RedisSubscriberLike;
}

/** The subscriber connection, made with `client.duplicate()`. */
export interface RedisSubscriberLike {
  subscribe(channel: string): Promise<unknown>;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  quit(): Promise<unknown>;
  disconnect(): void;
}

/** Options of {@link createRedisStore}. */
export interface RedisStoreOptions {
  /** An ioredis client (`new Redis(url)`). The store also makes one subscriber with `client.duplicate()`. */
  client: RedisClientLike;
  /** Prefix of every key and of the channel. Default `'centagate:'`. */
  prefix?: string;
  /**
   * Key of the HMAC that authenticates entries and messages and hashes keys. Default: derived from
   * the middleware's static credentials (the same on replicas configured alike). Required with
   * per-request `credentials`. Hazard: anyone with it can forge shared answers.
   */
  signingKey?: string | Buffer;
  /** Limit for one Redis command, in ms; a slower Redis counts as down. Default `100`, and never more than the middleware's `timeoutMs`. */
  timeoutMs?: number;
  /** Where state changes and ignored entries are logged. Default: the middleware's `logger`. */
  logger?: Logger;
}

/** A Redis store: a {@link CentagateSessionStore} with `close()` for its subscriber connection. */
export interface RedisStore extends CentagateSessionStore {
  /** Whether the last Redis command succeeded. */
  readonly healthy: boolean;
  /** Ends the subscriber connection (the client you gave stays yours to close). */
  close(): Promise<void>;
}

// Write an entry unless a sign-out (tombstone) is newer than the answer; track it in the user's set.
// KEYS: entry, user set, tombstone. ARGV: value, ttl ms, checkedAt.
const SET_SCRIPT = `
local tomb = redis.call('GET', KEYS[3])
if tomb and tonumber(tomb) >= tonumber(ARGV[3]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SADD', KEYS[2], KEYS[1])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return 1`;

// Delete every entry of a user and leave a tombstone that refuses older answers.
// KEYS: user set, tombstone. ARGV: now, tombstone ttl ms.
const INVALIDATE_SCRIPT = `
local keys = redis.call('SMEMBERS', KEYS[1])
for _, key in ipairs(keys) do redis.call('DEL', key) end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return #keys`;

class TimeoutError extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new TimeoutError(`Redis did not answer within ${ms} ms`));
    }, ms);
  });
  // The command may still settle later: never let that be an unhandled rejection.
  promise.catch(() => undefined);
  return Promise.race([promise, timeout]).finally(() => {
    clearTimeout(timer);
  });
}

/**
 * Makes a shared cache tier on Redis. Keys hold only keyed hashes of the username and cenToken
 * (Redis Cluster hash tags keep a user's keys in one slot); every entry and message carries an
 * HMAC, and one that does not verify is ignored, logged and treated as a miss. `invalidate`
 * deletes the user's entries, leaves a tombstone that refuses older answers still on their way,
 * and publishes the sign-out so every replica drops its local entries at once. When Redis is
 * down or slow, every call settles within `timeoutMs` as a miss; one line is logged per change
 * of state.
 */
export function createRedisStore(options: RedisStoreOptions): RedisStore {
  if (typeof (options as unknown) !== 'object' || typeof (options.client as unknown) !== 'object') {
    throw new TypeError('createRedisStore needs { client }: an ioredis client, e.g. new Redis(process.env.REDIS_URL).');
  }
  const { client } = options;
  for (const method of ['mget', 'eval', 'publish', 'duplicate'] as const) {
    if (typeof client[method] !== 'function') throw new TypeError(`createRedisStore: client has no ${method}(); pass an ioredis client.`);
  }
  const prefix = options.prefix ?? 'centagate:';
  if (typeof prefix !== 'string') throw new TypeError('createRedisStore: prefix must be a string.');
  let timeoutMs = options.timeoutMs ?? 100;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new TypeError('createRedisStore: timeoutMs must be a positive number of milliseconds.');
  const channel = `${prefix}invalidate`;
  const listeners = new Set<(username: string) => void>();
  let key: Buffer | undefined = options.signingKey === undefined ? undefined : Buffer.from(options.signingKey);
  let logger = options.logger;
  let tombstoneMs = 60_000;
  let healthy = true;
  let subscriber: RedisSubscriberLike | undefined;

  const signingKey = (): Buffer => {
    if (key === undefined) throw new TypeError('createRedisStore: no signingKey (and no static credentials to derive one from).');
    return key;
  };
  const mac = (text: string): string => createHmac('sha256', signingKey()).update(text, 'utf8').digest('hex');
  const userKey = (username: string): string => `${prefix}{${mac(`user\0${username}`).slice(0, 32)}}`;
  const entryKey = (username: string, cenToken: string): string => `${userKey(username)}:e:${mac(`entry\0${cenToken}\0${username}`).slice(0, 32)}`;
  const seal = (where: string, payload: string): string => `${mac(`${where}\n${payload}`)}.${payload}`;
  const unseal = (where: string, sealed: string): string | undefined => {
    const dot = sealed.indexOf('.');
    if (dot !== 64) return undefined;
    const given = Buffer.from(sealed.slice(0, dot), 'utf8');
    const payload = sealed.slice(dot + 1);
    const expected = Buffer.from(mac(`${where}\n${payload}`), 'utf8');
    return given.length === expected.length && timingSafeEqual(given, expected) ? payload : undefined;
  };

  const succeeded = (): void => {
    if (!healthy) {
      healthy = true;
      logger?.info({ store: 'redis' }, 'centagate: Redis answers again; the shared tier is back');
    }
  };
  const failed = (error: unknown): void => {
    if (healthy) {
      healthy = false;
      logger?.warn(
        { store: 'redis', err: { message: error instanceof Error ? error.message : String(error) } },
        'centagate: Redis is down or slow; carrying on with the local cache and CENTAGATE',
      );
    }
  };
  async function run<T>(command: () => Promise<T>): Promise<T | undefined> {
    try {
      const result = await withTimeout(command(), timeoutMs);
      succeeded();
      return result;
    } catch (error) {
      failed(error);
      return undefined;
    }
  }

  const ensureSubscribed = (): void => {
    if (subscriber !== undefined) return;
    subscriber = client.duplicate();
    subscriber.on('error', (error) => {
      failed(error);
    });
    subscriber.on('message', (from, message) => {
      if (from !== channel) return;
      const payload = unseal(channel, message);
      if (payload === undefined) {
        logger?.warn({ store: 'redis' }, 'centagate: ignored an invalidation message that does not verify');
        return;
      }
      const { username } = JSON.parse(payload) as { username: string };
      for (const listener of listeners) listener(username);
    });
    // ioredis re-subscribes by itself after a reconnect.
    subscriber.subscribe(channel).catch((error: unknown) => {
      failed(error);
    });
  };

  return {
    get healthy() {
      return healthy;
    },
    init(init: StoreInit) {
      key ??= init.derivedKey;
      if (key === undefined) {
        throw new TypeError('createRedisStore: with per-request credentials, give the store a signingKey (the same on every replica).');
      }
      logger ??= init.logger;
      // Redis must never make an answer slower than CENTAGATE's own limit.
      timeoutMs = Math.min(timeoutMs, init.timeoutMs);
      tombstoneMs = Math.max(tombstoneMs, init.ttlMs, init.negativeTtlMs) + 1000;
    },
    async get(username, cenToken) {
      const entry = entryKey(username, cenToken);
      const found = await run(() => client.mget(entry, `${userKey(username)}:tomb`));
      const [sealed, tomb] = found ?? [];
      if (typeof sealed !== 'string') return undefined;
      const payload = unseal(entry, sealed);
      if (payload === undefined) {
        logger?.warn({ store: 'redis', username }, 'centagate: ignored a shared entry that does not verify (tampered, or another configuration)');
        return undefined;
      }
      let verdict: SharedVerdict;
      try {
        verdict = JSON.parse(payload) as SharedVerdict;
      } catch {
        return undefined;
      }
      if (typeof verdict.expiresAt !== 'number' || verdict.expiresAt <= Date.now()) return undefined;
      if (typeof tomb === 'string' && Number(tomb) >= verdict.checkedAt) return undefined;
      return verdict;
    },
    async set(username, cenToken, verdict, ttlMs) {
      const entry = entryKey(username, cenToken);
      const user = userKey(username);
      await run(() => client.eval(SET_SCRIPT, 3, entry, `${user}:keys`, `${user}:tomb`, seal(entry, JSON.stringify(verdict)), Math.ceil(ttlMs), verdict.checkedAt));
    },
    async invalidate(username) {
      const user = userKey(username);
      await run(() => client.eval(INVALIDATE_SCRIPT, 2, `${user}:keys`, `${user}:tomb`, Date.now(), tombstoneMs));
      await run(() => client.publish(channel, seal(channel, JSON.stringify({ username }))));
    },
    subscribe(listener) {
      ensureSubscribed();
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      listeners.clear();
      const closing = subscriber;
      subscriber = undefined;
      if (closing !== undefined) {
        await withTimeout(closing.quit(), timeoutMs).catch(() => {
          closing.disconnect();
        });
      }
    },
  };
}
