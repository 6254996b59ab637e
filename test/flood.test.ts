import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { requireCentagateSession, type CentagateSessionMiddleware } from '../src/middleware.js';
import { startFakeCentagate, type FakeCentagate } from './helpers/fake-centagate.js';
import { fetchAll, listen, protectedApp } from './helpers/harness.js';

const credentials = { adminUsername: 'svc', authToken: 'tok', secretCode: 'sec' };
const ACTIVE_USERS = Array.from({ length: 10 }, (_, i) => `active-${i}`);
const JUNK_REQUESTS = 20_000;

describe('a flood of junk usernames', () => {
  let fake: FakeCentagate;
  let mw: CentagateSessionMiddleware;
  let server: { origin: string; close: () => Promise<void> };

  beforeAll(async () => {
    // CENTAGATE stand-in: the ten active users have a session; every other name answers 10001.
    fake = await startFakeCentagate((req, res) => {
      const username = decodeURIComponent((req.url ?? '').split('/')[5] ?? '');
      const code = ACTIVE_USERS.includes(username) ? 0 : 10001;
      res.writeHead(200, { 'content-type': 'application/json' }).end(`{"code":${code},"message":"","object":null}`);
    });
    // max 10 000 active entries as by default, denials bounded by negativeMax.
    mw = requireCentagateSession((req) => (typeof req.query['user'] === 'string' ? req.query['user'] : undefined), {
      baseUrl: fake.baseUrl,
      ...credentials,
      cache: { max: 10_000, negativeMax: 1000 },
    });
    server = await listen(protectedApp(mw));
  });
  afterAll(async () => {
    await server.close();
    mw.close();
    await fake.close();
  });

  it('should not evict cached active sessions: 10 active users, 20 000 junk usernames', async () => {
    const activeUrls = ACTIVE_USERS.map((user) => `${server.origin}/protected?user=${user}`);
    expect(await fetchAll(activeUrls, 10)).toEqual(Array(10).fill(200));
    const upstreamAfterActive = mw.stats().upstreamRequests;
    expect(upstreamAfterActive).toBe(10);

    const junk = Array.from({ length: JUNK_REQUESTS }, (_, i) => `${server.origin}/protected?user=junk-${i}-${Math.random().toString(36).slice(2)}`);
    const statuses = await fetchAll(junk, 32);
    expect(statuses.every((status) => status === 401)).toBe(true);
    expect(mw.stats().upstreamRequests).toBe(upstreamAfterActive + JUNK_REQUESTS);

    const hitsBefore = mw.stats().hits;
    expect(await fetchAll(activeUrls, 10)).toEqual(Array(10).fill(200));
    // The ten were answered from the cache: no new upstream request, ten more hits.
    expect(mw.stats().upstreamRequests).toBe(upstreamAfterActive + JUNK_REQUESTS);
    expect(mw.stats().hits - hitsBefore).toBe(10);
    // Denials stayed within their own bound.
    expect(mw.stats().size).toBe(10 + 1000);
  }, 60_000);
});
