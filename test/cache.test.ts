import { describe, expect, it } from '@jest/globals';
import type { Request } from 'express';
import request from 'supertest';
import type { CentagateCredentials } from '../src/cen-token.js';
import type { EmulatorSignIn } from '../src/emulator/index.js';
import { useEmulatorSuite } from './helpers/emulator-suite.js';
import { capturedLogger, protectedApp, sleep } from './helpers/harness.js';

describe('the cache of CENTAGATE answers', () => {
  const suite = useEmulatorSuite();
  const { middleware, checks } = suite;

  it('should make exactly one upstream request for 200 concurrent cold requests of one user', async () => {
    await suite.emulator.signIn('coalesce-user');
    const mw = middleware();
    const app = protectedApp(mw);
    suite.emulator.setFault({ latencyMs: 100 });
    const before = checks();
    const answers = await Promise.all(Array.from({ length: 200 }, () => request(app).get('/protected?user=coalesce-user')));
    expect(answers.map((res) => res.status)).toEqual(Array(200).fill(200));
    expect(answers.every((res) => res.body.session.cached === false)).toBe(true);
    expect(checks() - before).toBe(1);
    expect(mw.stats()).toMatchObject({ upstreamRequests: 1, misses: 200, coalesced: 199, hits: 0, size: 1 });
    await request(app).get('/protected?user=coalesce-user').expect(200);
    expect(mw.stats()).toMatchObject({ hits: 1, upstreamRequests: 1 });
  });

  it('should not cache a 503 outcome: concurrent failing requests share one check, the next request asks again', async () => {
    await suite.emulator.signIn('flaky-user');
    const mw = middleware({ retries: 0 });
    const app = protectedApp(mw);
    suite.emulator.setFault({ httpStatus: 500, latencyMs: 50 });
    const failed = await Promise.all(Array.from({ length: 20 }, () => request(app).get('/protected?user=flaky-user')));
    expect(failed.every((res) => res.status === 503)).toBe(true);
    expect(mw.stats()).toMatchObject({ upstreamRequests: 1, unavailable: 20, size: 0 });
    suite.emulator.setFault();
    await request(app).get('/protected?user=flaky-user').expect(200);
    expect(mw.stats().upstreamRequests).toBe(2);
  });

  it('should ask again once ttlMs has passed, and trust a signed-out session until then', async () => {
    await suite.emulator.signIn('ttl-user');
    const app = protectedApp(middleware({ cache: { ttlMs: 150 } }));
    await request(app).get('/protected?user=ttl-user').expect(200);
    await suite.emulator.signOut('ttl-user');
    // Inside the TTL the cached answer still stands: the documented trade-off.
    expect((await request(app).get('/protected?user=ttl-user').expect(200)).body.session.cached).toBe(true);
    await sleep(200);
    const res = await request(app).get('/protected?user=ttl-user').expect(401);
    expect(res.body.reason).toBe('session_inactive');
  });

  it('should remember a denial for negativeTtlMs only', async () => {
    const app = protectedApp(middleware({ cache: { negativeTtlMs: 150 } }));
    await request(app).get('/protected?user=late-user').expect(401);
    await suite.emulator.signIn('late-user');
    const before = checks();
    await request(app).get('/protected?user=late-user').expect(401);
    expect(checks()).toBe(before);
    await sleep(200);
    await request(app).get('/protected?user=late-user').expect(200);
    expect(checks() - before).toBe(1);
  });

  it('should not remember a denial past the in-flight check when negativeTtlMs is 0', async () => {
    const app = protectedApp(middleware({ cache: { negativeTtlMs: 0 } }));
    const before = checks();
    await request(app).get('/protected?user=zero-neg').expect(401);
    await sleep(5);
    await request(app).get('/protected?user=zero-neg').expect(401);
    expect(checks() - before).toBe(2);
  });

  it('should deny at once after invalidate(username), and count what it dropped', async () => {
    await suite.emulator.signIn('logout-user');
    const mw = middleware();
    const app = protectedApp(mw);
    await request(app).get('/protected?user=logout-user').expect(200);
    await suite.emulator.signOut('logout-user');
    expect(mw.invalidate('logout-user')).toBe(1);
    expect(mw.invalidate('logout-user')).toBe(0);
    await request(app).get('/protected?user=logout-user').expect(401);
  });

  it('should drop a check that is in flight when invalidate() is called, and ask again', async () => {
    await suite.emulator.signIn('racing-user');
    const mw = middleware();
    const app = protectedApp(mw);
    suite.emulator.setFault({ latencyMs: 200, times: 1 });
    const pending = request(app).get('/protected?user=racing-user');
    const answered = pending.then((res) => res);
    await sleep(80);
    // The check above reached CENTAGATE before the sign-out: its "active" must not be trusted.
    await suite.emulator.signOut('racing-user');
    expect(mw.invalidate('racing-user')).toBe(1);
    const res = await answered;
    expect(res.status).toBe(401);
    expect(mw.stats().upstreamRequests).toBe(2);
  });

  it('should keep entries of distinct credentials apart and invalidate them all by username', async () => {
    const alice = await suite.emulator.signIn('alice');
    const bob = await suite.emulator.signIn('bob');
    const sessions = new Map<string, EmulatorSignIn>([['alice', alice], ['bob', bob]]);
    // Per-request credentials: each user's own sign-in, chosen by a header.
    const mw = middleware({
      adminUsername: undefined,
      authToken: undefined,
      secretCode: undefined,
      credentials: async (req: Request, username: string) => {
        const own = sessions.get(req.get('x-as') ?? username)!;
        return Promise.resolve({ adminUsername: own.username, authToken: own.authToken, secretCode: own.secretCode });
      },
    });
    const app = protectedApp(mw);
    await request(app).get('/protected?user=alice').expect(200);
    // Bob's credentials may not check Alice: a separate entry, answered by CENTAGATE, not from Alice's entry.
    const before = checks();
    const res = await request(app).get('/protected?user=alice').set('x-as', 'bob').expect(401);
    expect(res.body.reason).toBe('session_inactive');
    expect(checks() - before).toBe(1);
    await request(app).get('/protected?user=bob').expect(200);
    expect(mw.stats().size).toBe(3);
    expect(mw.invalidate('alice')).toBe(2);
    expect(mw.stats().size).toBe(1);
  });

  it('should pass an error of the credentials callback to next(err)', async () => {
    const mw = middleware({
      adminUsername: undefined,
      authToken: undefined,
      secretCode: undefined,
      credentials: () => Promise.reject(new Error('vault unreachable')),
    });
    const res = await request(protectedApp(mw)).get('/protected?user=alice').expect(500);
    expect(res.body.message).toBe('vault unreachable');
    const malformed = middleware({
      adminUsername: undefined,
      authToken: undefined,
      secretCode: undefined,
      credentials: () => ({ adminUsername: 'x' }) as unknown as CentagateCredentials,
    });
    const bad = await request(protectedApp(malformed)).get('/protected?user=alice').expect(500);
    expect(bad.body.message).toMatch(/credentials\(req, username\) must return \{ adminUsername, authToken, secretCode \}/);
  });

  describe('staleIfErrorMs', () => {
    it('should serve an expired active entry when CENTAGATE fails within the window, and log a warning', async () => {
      await suite.emulator.signIn('stale-user');
      const { logger, lines } = capturedLogger();
      const mw = middleware({ cache: { ttlMs: 100, staleIfErrorMs: 400 }, retries: 0, logger });
      const app = protectedApp(mw);
      const first = await request(app).get('/protected?user=stale-user').expect(200);
      await sleep(150);
      suite.emulator.setFault({ httpStatus: 500 });
      const stale = await request(app).get('/protected?user=stale-user').expect(200);
      expect(stale.body.session).toMatchObject({ cached: true, checkedAt: first.body.session.checkedAt });
      expect(mw.stats()).toMatchObject({ staleServed: 1, upstreamRequests: 2 });
      expect(lines.at(-1)).toMatchObject({ level: 40, stale: true, outcome: 'allowed', username: 'stale-user' });
      await sleep(400);
      const expired = await request(app).get('/protected?user=stale-user').expect(503);
      expect(expired.body.reason).toBe('upstream_unavailable');
    });

    it('should fail closed after ttlMs when staleIfErrorMs is 0', async () => {
      await suite.emulator.signIn('strict-user');
      const app = protectedApp(middleware({ cache: { ttlMs: 100 }, retries: 0 }));
      await request(app).get('/protected?user=strict-user').expect(200);
      await sleep(150);
      suite.emulator.setFault({ httpStatus: 500 });
      await request(app).get('/protected?user=strict-user').expect(503);
    });

    it('should never serve an expired denial as stale', async () => {
      const app = protectedApp(middleware({ cache: { negativeTtlMs: 50, staleIfErrorMs: 5000 }, retries: 0 }));
      await request(app).get('/protected?user=denied-user').expect(401);
      await sleep(100);
      suite.emulator.setFault({ httpStatus: 500 });
      await request(app).get('/protected?user=denied-user').expect(503);
    });

    it('should not serve a stale entry after invalidate()', async () => {
      await suite.emulator.signIn('stale-logout');
      const mw = middleware({ cache: { ttlMs: 50, staleIfErrorMs: 5000 }, retries: 0 });
      const app = protectedApp(mw);
      await request(app).get('/protected?user=stale-logout').expect(200);
      await sleep(100);
      expect(mw.invalidate('stale-logout')).toBe(1);
      suite.emulator.setFault({ httpStatus: 500 });
      await request(app).get('/protected?user=stale-logout').expect(503);
    });
  });

  it('should ask CENTAGATE on every request when cache is false', async () => {
    await suite.emulator.signIn('uncached-user');
    const mw = middleware({ cache: false });
    const app = protectedApp(mw);
    const before = checks();
    for (let i = 0; i < 3; i += 1) {
      const res = await request(app).get('/protected?user=uncached-user').expect(200);
      expect(res.body.session.cached).toBe(false);
    }
    await Promise.all([request(app).get('/protected?user=uncached-user'), request(app).get('/protected?user=uncached-user')]);
    expect(checks() - before).toBe(5);
    expect(mw.stats()).toMatchObject({ size: 0, hits: 0, misses: 5, upstreamRequests: 5 });
  });

  it('should hold at most max active entries and negativeMax denials', async () => {
    const mw = middleware({ cache: { max: 2, negativeMax: 3 } });
    const app = protectedApp(mw);
    for (const user of ['m1', 'm2', 'm3']) {
      await suite.emulator.signIn(user);
      await request(app).get(`/protected?user=${user}`).expect(200);
    }
    expect(mw.stats().size).toBe(2);
    for (const user of ['n1', 'n2', 'n3', 'n4', 'n5']) await request(app).get(`/protected?user=${user}`).expect(401);
    expect(mw.stats().size).toBe(2 + 3);
  });

  it('should forget everything on clear()', async () => {
    await suite.emulator.signIn('clear-user');
    const mw = middleware();
    const app = protectedApp(mw);
    await request(app).get('/protected?user=clear-user').expect(200);
    mw.clear();
    expect(mw.stats().size).toBe(0);
    const res = await request(app).get('/protected?user=clear-user').expect(200);
    expect(res.body.session.cached).toBe(false);
    expect(mw.stats().upstreamRequests).toBe(2);
  });

  it('should not let one request change the session object another request sees', async () => {
    await suite.emulator.signIn('frozen-user');
    const mw = middleware();
    const app = protectedApp(mw);
    await request(app).get('/protected?user=frozen-user').expect(200);
    const res = await request(app).get('/protected?user=frozen-user').expect(200);
    expect(res.body.session.object).toMatchObject({ username: 'frozen-user' });
  });
});
