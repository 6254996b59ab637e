/**
 * `node --expose-gc build/bench/bench/memory.js N`: heap and RSS per cached session, measured
 * on the cache the middleware uses, filled with N active answers as small as the emulator's.
 * Prints one JSON line. No HTTP: this measures what an entry costs, not how fast it arrives.
 */
import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { SessionCache } from '../src/cache.js';
import { parseReplyBody } from '../src/client.js';
import { verdictOf } from '../src/verdict.js';

const count = Number(process.argv[2] ?? 10_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

function measure(): { heap: number; rss: number } {
  gc?.();
  gc?.();
  const usage = process.memoryUsage();
  return { heap: usage.heapUsed, rss: usage.rss };
}

const staticCenToken = 'a'.repeat(64);
const usernames = Array.from({ length: count }, (_, i) => `bench-user-${i}`);
const bodies = usernames.map((username) =>
  JSON.stringify({ code: 0, message: 'Success', object: JSON.stringify({ username, checkedBy: 'centagate-admin', userId: randomUUID() }) }),
);

// Baseline: lru-cache alone, the same keys, a number per entry.
const baselineBefore = measure();
const bare = new LRUCache<string, number>({ max: count, ttl: 30_000 });
for (const [index, username] of usernames.entries()) bare.set(`${username}#`, index);
const baselineAfter = measure();
bare.clear();

const before = measure();
const cache = new SessionCache(
  { ttlMs: 30_000, negativeTtlMs: 5_000, max: count, negativeMax: 1000, staleIfErrorMs: 0 },
  (username) => {
    const reply = parseReplyBody(bodies[Number(username.slice('bench-user-'.length))] ?? '');
    if (typeof reply === 'string') throw new Error(reply);
    return Promise.resolve(verdictOf(reply));
  },
  { staticCenToken },
);
for (const username of usernames) await cache.check(username, staticCenToken, undefined);
const after = measure();
if (cache.size !== count) throw new Error(`expected ${count} entries, got ${cache.size}`);

console.log(
  JSON.stringify({
    entries: count,
    heapBytesPerEntry: Math.round((after.heap - before.heap) / count),
    rssBytesPerEntry: Math.round((after.rss - before.rss) / count),
    lruAloneHeapBytesPerEntry: Math.round((baselineAfter.heap - baselineBefore.heap) / count),
  }),
);
