import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import request from 'supertest';
import { computeCenToken } from '../src/cen-token.js';
import { startCentagateEmulator, type CentagateEmulator } from '../src/emulator/index.js';
import { requireCentagateSession, type CentagateSessionMiddleware } from '../src/middleware.js';
import { createRedisStore, type RedisStore } from '../src/redis/index.js';
import type { CentagateSessionOptions } from '../src/types.js';
import { capturedLogger, protectedApp, serviceAccount, sleep, usernameFromQuery } from './helpers/harness.js';
import { findRedisServer, TestRedisServer } from './helpers/redis-server.js';

const redisBinary = findRedisServer();
if (redisBinary === undefined) {
  const message = "Redis tests SKIPPED: no redis-server on this machine. Enable them with 'apt-get update && apt-get install -y redis-server'.";
  if (process.env['CI'] === 'true') throw new Error(`${message} CI must run them.`);
  console.warn(message);
}

(redisBinary === undefined ? describe.skip : describe)('the shared Redis tier', () => {
  let redisServer: TestRedisServer;
  let emulator: CentagateEmulator;
  let admin: Awaited<ReturnType<typeof serviceAccount>>;
  const clients: Redis[] = [];
  const stores: RedisStore[] = [];
  const made: CentagateSessionMiddleware[] = [];

  const redis = (): Redis => {
    const client = new Redis(redisServer.url, { maxRetriesPerRequest: 1, retryStrategy: () => 50, lazyConnect: false });
    client.on('error', () => undefined);
    clients.push(client);
    return client;
  };
  /** One "replica": its own Redis client, store and middleware, sharing Redis and the emulator. */
  const replica = (options: CentagateSessionOptions = {}, storeOptions: Partial<Parameters<typeof createRedisStore>[0]> = {}) => {
    const store = createRedisStore({ client: redis(), ...storeOptions });
    stores.push(store);
    const mw = requireCentagateSession(usernameFromQuery, { baseUrl: emulator.baseUrl, ...admin, retries: 0, store, ...options });
    made.push(mw);
    return { store, mw, app: protectedApp(mw) };
  };
  const checks = (): number => emulator.stats().checks;

  beforeAll(async () => {
    redisServer = await TestRedisServer.start(redisBinary!);
    emulator = await startCentagateEmulator();
    admin = await serviceAccount(emulator);
  });
  afterEach(async () => {
    emulator.setFault();
    await redis().flushall();
  });
  afterAll(async () => {
    for (const mw of made) mw.close();
    for (const store of stores) await store.close();
    for (const client of clients) client.disconnect();
    await emulator.close();
    await redisServer.kill();
  });

  it('should let a second replica answer from the shared tier without asking CENTAGATE', async () => {
    await emulator.signIn('shared-user');
    const one = replica();
    const two = replica();
    const before = checks();
    const first = await request(one.app).get('/protected?user=shared-user').expect(200);
    expect(first.body.session.cached).toBe(false);
    await sleep(50); // the shared write is not awaited by the request
    const second = await request(two.app).get('/protected?user=shared-user').expect(200);
    expect(second.body.session).toMatchObject({ cached: true, checkedAt: first.body.session.checkedAt });
    expect(checks() - before).toBe(1);
    expect(two.mw.stats()).toMatchObject({ sharedHits: 1, upstreamRequests: 0 });
    // Now local on replica two as well.
    await request(two.app).get('/protected?user=shared-user').expect(200);
    expect(two.mw.stats().sharedHits).toBe(1);
  });

  it('should share denials with the negative TTL, and never share a 503', async () => {
    const one = replica();
    const two = replica();
    await request(one.app).get('/protected?user=never-signed-in').expect(401);
    await sleep(50);
    const before = checks();
    const res = await request(two.app).get('/protected?user=never-signed-in').expect(401);
    expect(res.body).toEqual({ error: 'unauthorized', reason: 'session_inactive', code: 10001 });
    expect(checks()).toBe(before);

    emulator.setFault({ httpStatus: 500 });
    await request(one.app).get('/protected?user=flaky-shared').expect(503);
    emulator.setFault();
    await emulator.signIn('flaky-shared');
    await sleep(50);
    await request(two.app).get('/protected?user=flaky-shared').expect(200);
  });

  it('should keep TTLs in Redis and no cenToken, secret or username in any key', async () => {
    await emulator.signIn('ttl-shared');
    const one = replica({ cache: { ttlMs: 20_000, negativeTtlMs: 3_000 } });
    await request(one.app).get('/protected?user=ttl-shared').expect(200);
    await request(one.app).get('/protected?user=ttl-denied').expect(401);
    await sleep(50);
    const client = redis();
    const keys = await client.keys('*');
    const entries = keys.filter((key) => key.includes(':e:'));
    expect(entries).toHaveLength(2);
    const ttls = (await Promise.all(entries.map((key) => client.pttl(key)))).sort((a, b) => a - b);
    expect(ttls[0]).toBeGreaterThan(2_000);
    expect(ttls[0]).toBeLessThanOrEqual(3_000);
    expect(ttls[1]).toBeGreaterThan(19_000);
    expect(ttls[1]).toBeLessThanOrEqual(20_000);
    const cenToken = computeCenToken(admin);
    for (const key of keys) {
      for (const secret of [cenToken, admin.authToken, admin.secretCode, 'ttl-shared', 'ttl-denied']) expect(key).not.toContain(secret);
    }
    const values = await Promise.all(entries.map((key) => client.get(key)));
    for (const value of values) for (const secret of [cenToken, admin.authToken, admin.secretCode]) expect(value).not.toContain(secret);
  });

  it('should deny on every replica within 100 ms of invalidate() on one', async () => {
    await emulator.signIn('leaving-user');
    const one = replica();
    const two = replica();
    const three = replica();
    for (const { app } of [one, two, three]) await request(app).get('/protected?user=leaving-user').expect(200);
    await emulator.signOut('leaving-user');
    const started = performance.now();
    one.mw.invalidate('leaving-user');
    // Replicas two and three had the user in their local tier: the published sign-out must drop it.
    let denied = false;
    while (!denied && performance.now() - started < 1000) {
      const [a, b] = await Promise.all([request(two.app).get('/protected?user=leaving-user'), request(three.app).get('/protected?user=leaving-user')]);
      denied = a.status === 401 && b.status === 401;
      if (!denied) await sleep(5);
    }
    expect(denied).toBe(true);
    expect(performance.now() - started).toBeLessThan(100);
  });

  it('should ignore a tampered or foreign entry, log it, and ask CENTAGATE', async () => {
    await emulator.signIn('tamper-user');
    const { logger, lines } = capturedLogger();
    const one = replica();
    const two = replica({ logger });
    await request(one.app).get('/protected?user=tamper-user').expect(200);
    await sleep(50);
    const client = redis();
    const [entry] = (await client.keys('*')).filter((key) => key.includes(':e:'));
    const sealed = (await client.get(entry!))!;
    // Flip the verdict inside the payload, keeping the old MAC.
    await client.set(entry!, sealed.replace('"active":true', '"active":false'), 'PX', 20_000);
    const before = checks();
    await request(two.app).get('/protected?user=tamper-user').expect(200);
    expect(checks() - before).toBe(1);
    expect(lines.some((line) => /does not verify/.test(String(line['msg'])))).toBe(true);

    // A replica with another signing key sees every entry as foreign: a miss, never a forged answer.
    const foreign = replica({}, { signingKey: 'another-configuration' });
    const beforeForeign = checks();
    await request(foreign.app).get('/protected?user=tamper-user').expect(200);
    expect(checks() - beforeForeign).toBe(1);
  });

  it('should keep working when Redis dies, log once per change, and use Redis again when it returns', async () => {
    await emulator.signIn('outage-user');
    await emulator.signIn('outage-user-2');
    const { logger, lines } = capturedLogger();
    const one = replica({ logger, timeoutMs: 1000 }, { timeoutMs: 100 });
    await redisServer.kill();
    const started = performance.now();
    for (let i = 0; i < 3; i += 1) {
      one.mw.clear();
      await request(one.app).get('/protected?user=outage-user').expect(200);
    }
    // Each request waited at most the Redis timeout (100 ms) before asking CENTAGATE.
    expect(performance.now() - started).toBeLessThan(3 * (100 + 300));
    const downLines = lines.filter((line) => /Redis is down or slow/.test(String(line['msg'])));
    expect(downLines).toHaveLength(1);
    expect(one.store.healthy).toBe(false);

    await redisServer.resume();
    const two = replica();
    let back = false;
    for (let i = 0; i < 50 && !back; i += 1) {
      await sleep(100);
      one.mw.clear();
      await request(one.app).get('/protected?user=outage-user-2').expect(200);
      back = one.store.healthy;
    }
    expect(back).toBe(true);
    expect(lines.filter((line) => /Redis answers again/.test(String(line['msg'])))).toHaveLength(1);
    await sleep(50);
    const before = checks();
    await request(two.app).get('/protected?user=outage-user-2').expect(200);
    expect(checks()).toBe(before);
  }, 20_000);

  it('should not wait for a slow Redis longer than its timeout', async () => {
    await emulator.signIn('slow-redis-user');
    const one = replica({}, { timeoutMs: 100 });
    const control = redis();
    // Redis holds every client's commands for 1.5 s: as slow as it gets without being down.
    await control.call('CLIENT', 'PAUSE', '1500', 'ALL');
    const started = performance.now();
    const res = await request(one.app).get('/protected?user=slow-redis-user').expect(200);
    expect(res.body.session.cached).toBe(false);
    expect(performance.now() - started).toBeLessThan(100 + 400);
    expect(one.store.healthy).toBe(false);
    await sleep(1600);
  });

  it('should refuse a store without a signing key when credentials are per request', () => {
    const store = createRedisStore({ client: redis() });
    stores.push(store);
    expect(() =>
      requireCentagateSession(usernameFromQuery, {
        baseUrl: emulator.baseUrl,
        credentials: () => admin,
        store,
      }),
    ).toThrow(/with per-request credentials, give the store a signingKey/);
  });
});
