import type { ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { requireCentagateSession } from '../src/middleware.js';
import { refusedBaseUrl, startFakeCentagate, type FakeCentagate } from './helpers/fake-centagate.js';
import { protectedApp, sleep } from './helpers/harness.js';

const credentials = { adminUsername: 'svc', authToken: 'tok', secretCode: 'sec' };
const TIMEOUT_MS = 200;
const RETRIES = 1;
/** timeoutMs × (retries + 1), one back-off of at most 200 ms, and slack for a loaded 2-core machine. */
const BUDGET_MS = TIMEOUT_MS * (RETRIES + 1) + 200 + 600;

type Fault = (res: ServerResponse) => void;
const healthy: Fault = (res) => {
  res.writeHead(200, { 'content-type': 'application/json' }).end('{"code":0,"message":"Success","object":"{\\"ok\\":true}"}');
};
const code = (returnCode: number): Fault => (res) => {
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ code: returnCode, message: 'x', object: null }));
};

const faultRows: [string, Fault, number, string, number | undefined][] = [
  ['no answer', () => undefined, 503, 'upstream_unavailable', undefined],
  ['an answer after the timeout', (res) => setTimeout(() => { healthy(res); }, TIMEOUT_MS + 150), 503, 'upstream_unavailable', undefined],
  ['a slow body', (res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"code":0,');
    setTimeout(() => res.end('"message":"late"}'), TIMEOUT_MS + 150);
  }, 503, 'upstream_unavailable', undefined],
  ['HTTP 500 with HTML', (res) => res.writeHead(500, { 'content-type': 'text/html' }).end('<h1>boom</h1>'), 503, 'upstream_unavailable', undefined],
  ['200 with invalid JSON', (res) => res.writeHead(200).end('{"code":0,'), 503, 'upstream_unavailable', undefined],
  ['JSON without code', (res) => res.writeHead(200).end('{"message":"Success"}'), 503, 'upstream_unavailable', undefined],
  ['a 100 KiB body', (res) => res.writeHead(200).end(JSON.stringify({ code: 0, message: 'x'.repeat(100 * 1024) })), 503, 'upstream_unavailable', undefined],
  ['a redirect', (res) => res.writeHead(302, { location: 'http://127.0.0.1:9/' }).end(), 503, 'upstream_unavailable', undefined],
  ['a socket reset mid-body', (res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '200' });
    res.write('{"code":0,');
    setTimeout(() => res.socket?.destroy(), 20);
  }, 503, 'upstream_unavailable', undefined],
  ['code 10001', code(10001), 401, 'session_inactive', 10001],
  ['code 10002', code(10002), 401, 'invalid_input', 10002],
  ['code 10003', code(10003), 503, 'upstream_error', 10003],
  ['code 10004', code(10004), 503, 'upstream_error', 10004],
  ['code 10011', code(10011), 503, 'upstream_error', 10011],
  ['an unknown code', code(424242), 401, 'rejected', 424242],
  ['code as a numeric string', (res) => res.writeHead(200).end('{"code":"10001","message":"x"}'), 401, 'session_inactive', 10001],
];

const faults = faultRows.map(([label, fault, status, reason, returnCode]) => ({ label, fault, status, reason, returnCode }));

describe('fault injection: every upstream fault, through real HTTP', () => {
  let fake: FakeCentagate;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };

  beforeAll(async () => {
    fake = await startFakeCentagate();
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(() => {
    expect(unhandled).toEqual([]);
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await fake.close();
  });

  it.each(faults)('should answer $label with $status $reason, in time, and recover when it clears', async ({ fault, status, reason, returnCode }) => {
    const timersBefore = process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const mw = requireCentagateSession((req) => req.get('x-user'), { baseUrl: fake.baseUrl, ...credentials, timeoutMs: TIMEOUT_MS, retries: RETRIES });
    const app = protectedApp(mw);
    fake.answer((_req, res) => {
      fault(res);
    });
    const started = performance.now();
    const res = await request(app).get('/protected').set('x-user', 'alice').expect(status);
    expect(performance.now() - started).toBeLessThan(BUDGET_MS);
    expect(res.body).toEqual({ error: status === 401 ? 'unauthorized' : 'unavailable', reason, ...(returnCode === undefined ? {} : { code: returnCode }) });
    expect(res.headers['cache-control']).toBe('no-store');
    if (status === 503) {
      expect(res.headers['retry-after']).toMatch(/^\d+$/);
      expect(res.headers['www-authenticate']).toBeUndefined();
    } else {
      expect(res.headers['www-authenticate']).toBe('CentagateSession realm="centagate"');
    }

    // The fault clears: the next request for another user succeeds (a 401 for alice may be cached).
    fake.answer((_req, answer) => {
      healthy(answer);
    });
    const next = await request(app).get('/protected').set('x-user', 'bob').expect(200);
    expect(next.body.session).toMatchObject({ username: 'bob', object: { ok: true } });

    // Nothing left open: no check in flight, the middleware's sockets close, and the timers
    // (counted process-wide, so short-lived ones of Node's HTTP servers settle first) go back to before.
    expect(mw.stats().checksInFlight).toBe(0);
    mw.close();
    let timersAfter = Infinity;
    for (let waited = 0; waited < 2000 && (timersAfter > timersBefore || fake.openSockets() > 0); waited += 100) {
      await sleep(100);
      timersAfter = process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    }
    expect(fake.openSockets()).toBe(0);
    expect(timersAfter).toBeLessThanOrEqual(timersBefore);
  });

  it('should answer 503 when the connection is refused, in time, with no unhandled rejection', async () => {
    const mw = requireCentagateSession((req) => req.get('x-user'), { baseUrl: await refusedBaseUrl(), ...credentials, timeoutMs: TIMEOUT_MS, retries: RETRIES });
    const started = performance.now();
    const res = await request(protectedApp(mw)).get('/protected').set('x-user', 'alice').expect(503);
    expect(performance.now() - started).toBeLessThan(BUDGET_MS);
    expect(res.body).toEqual({ error: 'unavailable', reason: 'upstream_unavailable' });
    mw.close();
  });
});
