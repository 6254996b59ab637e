import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startFakeCentagate, type FakeCentagate } from './helpers/fake-centagate.js';
import { requireCentagateSession, type CentagateSessionMiddleware } from '../src/middleware.js';
import type { CentagateSessionOptions } from '../src/types.js';
import { protectedApp } from './helpers/harness.js';
import { ConcurrencyLimit } from '../src/limiter.js';

const credentials = { adminUsername: 'svc', authToken: 'tok', secretCode: 'sec' };

describe('maxInFlight: bounded upstream concurrency', () => {
  let fake: FakeCentagate;
  let running = 0;
  let peak = 0;
  let latencyMs = 300;
  const made: CentagateSessionMiddleware[] = [];
  const middleware = (options: CentagateSessionOptions): CentagateSessionMiddleware => {
    const mw = requireCentagateSession((req) => req.get('x-user'), { baseUrl: fake.baseUrl, ...credentials, retries: 0, breaker: false, ...options });
    made.push(mw);
    return mw;
  };

  beforeAll(async () => {
    // An upstream that says code 0 after latencyMs and records how many checks it held at once.
    fake = await startFakeCentagate((_req, res) => {
      running += 1;
      peak = Math.max(peak, running);
      setTimeout(() => {
        running -= 1;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"code":0,"message":"Success","object":null}');
      }, latencyMs);
    });
  });
  afterEach(() => {
    peak = 0;
    fake.requests.length = 0;
  });
  afterAll(async () => {
    for (const mw of made) mw.close();
    await fake.close();
  });

  it('should keep at most maxInFlight distinct checks at CENTAGATE and queue the rest', async () => {
    latencyMs = 200;
    const app = protectedApp(middleware({ maxInFlight: 2, timeoutMs: 2000 }));
    const answers = await Promise.all(['u1', 'u2', 'u3', 'u4', 'u5'].map((user) => request(app).get('/protected').set('x-user', user)));
    expect(answers.map((res) => res.status)).toEqual([200, 200, 200, 200, 200]);
    expect(peak).toBe(2);
    expect(fake.requests).toHaveLength(5);
  });

  it('should answer 503 to a check that waited past its deadline', async () => {
    latencyMs = 600;
    const mw = middleware({ maxInFlight: 1, timeoutMs: 1000 });
    const app = protectedApp(mw);
    const started = performance.now();
    const answers = await Promise.all(['w1', 'w2', 'w3'].map((user) => request(app).get('/protected').set('x-user', user)));
    // w1 runs 0–600 ms, w2 waits then runs 600–1200 ms, w3 is still waiting at its 1000 ms deadline.
    expect(answers.map((res) => res.status)).toEqual([200, 200, 503]);
    expect(answers[2]!.body).toEqual({ error: 'unavailable', reason: 'upstream_unavailable' });
    expect(answers[2]!.headers['retry-after']).toBe('1');
    expect(performance.now() - started).toBeLessThan(1200 + 400);
    expect(fake.requests).toHaveLength(2);
    expect(mw.stats()).toMatchObject({ overloaded: 1, checksInFlight: 0 });
  });

  it('should answer 503 at once when the queue is full', async () => {
    latencyMs = 300;
    const mw = middleware({ maxInFlight: 1, timeoutMs: 5000 });
    const app = protectedApp(mw);
    // One place and ten queue places: the twelfth distinct check is refused at once.
    const users = Array.from({ length: 12 }, (_, i) => `q${i}`);
    const answers = await Promise.all(users.map((user) => request(app).get('/protected').set('x-user', user)));
    expect(answers.filter((res) => res.status === 503)).toHaveLength(1);
    expect(answers.filter((res) => res.status === 200)).toHaveLength(11);
    expect(mw.stats().overloaded).toBe(1);
    expect(peak).toBe(1);
  });

  it('should not let coalesced requests take places of their own', async () => {
    latencyMs = 100;
    const mw = middleware({ maxInFlight: 1, timeoutMs: 1000 });
    const app = protectedApp(mw);
    const answers = await Promise.all(Array.from({ length: 50 }, () => request(app).get('/protected').set('x-user', 'same')));
    expect(answers.every((res) => res.status === 200)).toBe(true);
    expect(fake.requests).toHaveLength(1);
    expect(mw.stats()).toMatchObject({ overloaded: 0, coalesced: 49 });
  });
});

describe('ConcurrencyLimit', () => {
  it('should hand a freed place to the longest waiter', async () => {
    const limit = new ConcurrencyLimit(1, 5);
    const order: string[] = [];
    await limit.acquire(1000, () => new Error('overloaded'));
    const second = limit.acquire(1000, () => new Error('overloaded')).then(() => order.push('second'));
    const third = limit.acquire(1000, () => new Error('overloaded')).then(() => order.push('third'));
    expect(limit.waiting).toBe(2);
    limit.release();
    await second;
    limit.release();
    await third;
    limit.release();
    expect(order).toEqual(['second', 'third']);
    expect(limit.active).toBe(0);
    expect(limit.waiting).toBe(0);
  });
});
