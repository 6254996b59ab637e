import { afterAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import { pinoHttp } from 'pino-http';
import request from 'supertest';
import { computeCenToken } from '../src/cen-token.js';
import { CentagateUnauthorizedError, CentagateUnavailableError } from '../src/errors.js';
import { requireCentagateSession, type CentagateSessionMiddleware } from '../src/middleware.js';
import type { CentagateDenial } from '../src/types.js';
import { startFakeCentagate, refusedBaseUrl } from './helpers/fake-centagate.js';
import { useEmulatorSuite } from './helpers/emulator-suite.js';
import { capturedLogger, protectedApp, usernameFromQuery } from './helpers/harness.js';
import { expectNoSecrets } from './helpers/secrets.js';

describe('requireCentagateSession against the emulator', () => {
  const suite = useEmulatorSuite({ timeoutMs: 1000 }, ['alice']);
  const { middleware, checks } = suite;
  // Middlewares made here with other getters or upstreams, closed at the end.
  const made: CentagateSessionMiddleware[] = [];
  afterAll(() => {
    for (const mw of made) mw.close();
  });

  describe('an active session', () => {
    it('should call next() with req.centagateSession, then answer the next request from the cache', async () => {
      const app = protectedApp(middleware());
      const before = checks();
      const first = await request(app).get('/protected?user=alice').expect(200);
      const started = Date.now();
      expect(first.body.session).toMatchObject({ username: 'alice', code: 0, message: 'Success', cached: false });
      expect(first.body.session.object).toMatchObject({ username: 'alice', checkedBy: 'centagate-admin' });
      expect(Math.abs(first.body.session.checkedAt - started)).toBeLessThan(5000);
      const second = await request(app).get('/protected?user=alice').expect(200);
      expect(second.body.session).toMatchObject({ username: 'alice', cached: true, checkedAt: first.body.session.checkedAt });
      expect(checks() - before).toBe(1);
    });

    it.each(['PUT', 'GET'] as const)('should send the check with %s', async (method) => {
      await request(protectedApp(middleware({ method }))).get('/protected?user=alice').expect(200);
      expect(suite.emulator.requestLog.at(-1)).toMatch(new RegExp(`^${method} /CentagateWS/webresources/session/check/alice/[0-9a-f]{64}$`));
    });

    it('should accept an async getUsername', async () => {
      const mw = requireCentagateSession(async (req) => Promise.resolve(req.get('x-user')), { baseUrl: suite.emulator.baseUrl, ...suite.admin });
      made.push(mw);
      const res = await request(protectedApp(mw)).get('/protected').set('x-user', 'alice').expect(200);
      expect(res.body.session.username).toBe('alice');
    });
  });

  describe('no username', () => {
    it.each([undefined, null, ''])('should answer 401 missing_username for %j without asking CENTAGATE', async (value) => {
      const mw = requireCentagateSession(() => value, { baseUrl: suite.emulator.baseUrl, ...suite.admin });
      made.push(mw);
      const before = checks();
      const res = await request(protectedApp(mw)).get('/protected').expect(401);
      expect(res.body).toEqual({ error: 'unauthorized', reason: 'missing_username' });
      expect(res.headers['www-authenticate']).toBe('CentagateSession realm="centagate"');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(checks()).toBe(before);
    });

    it('should call next() without a session when optional is true', async () => {
      const before = checks();
      const res = await request(protectedApp(middleware({ optional: true }))).get('/protected').expect(200);
      expect(res.body).toEqual({ session: null });
      expect(checks()).toBe(before);
    });

    it('should still deny an invalid username when optional is true', async () => {
      const res = await request(protectedApp(middleware({ optional: true }))).get('/protected?user=..').expect(401);
      expect(res.body.reason).toBe('invalid_username');
    });
  });

  describe('an invalid username', () => {
    it.each([
      ['dot', '.'],
      ['dot-dot', '..'],
      ['slash', 'a/b'],
      ['backslash', 'a\\b'],
      ['NUL', 'a\u0000b'],
      ['CR LF', 'a\r\nX-Injected: 1'],
      ['DEL', 'a\u007f'],
      ['C1 control', 'a\u0085'],
      ['257 code points', 'é'.repeat(257)],
    ])('should answer 401 invalid_username for %s without asking CENTAGATE', async (_label, username) => {
      const before = checks();
      const res = await request(protectedApp(middleware())).get('/protected').query({ user: username }).expect(401);
      expect(res.body).toEqual({ error: 'unauthorized', reason: 'invalid_username' });
      expect(res.headers['www-authenticate']).toMatch(/^CentagateSession realm=/);
      expect(checks()).toBe(before);
    });

    it('should send other odd usernames percent-encoded as one path segment', async () => {
      await request(protectedApp(middleware())).get('/protected').query({ user: '%2e%2e?x=1#y' }).expect(401);
      expect(suite.emulator.requestLog.at(-1)).toMatch(/^PUT \/CentagateWS\/webresources\/session\/check\/%252e%252e%3Fx%3D1%23y\/[0-9a-f]{64}$/);
    });

    it('should accept exactly 256 code points', async () => {
      const long = '😀'.repeat(256);
      await suite.emulator.signIn(long);
      const res = await request(protectedApp(middleware())).get('/protected').query({ user: long }).expect(200);
      expect(res.body.session.username).toBe(long);
    });
  });

  describe('CENTAGATE return codes', () => {
    it('should answer 401 session_inactive with code 10001 for a user without a session', async () => {
      const res = await request(protectedApp(middleware())).get('/protected?user=nobody').expect(401);
      expect(res.body).toEqual({ error: 'unauthorized', reason: 'session_inactive', code: 10001 });
      expect(res.headers['cache-control']).toBe('no-store');
    });

    it.each([
      [10002, 'invalid_input'],
      [12345, 'rejected'],
      [-1, 'rejected'],
    ])('should answer 401 for code %i with reason %s', async (code, reason) => {
      suite.emulator.setFault({ returnCode: code });
      const res = await request(protectedApp(middleware())).get('/protected?user=alice').expect(401);
      expect(res.body).toEqual({ error: 'unauthorized', reason, code });
    });

    it.each([10003, 10004, 10011])('should answer 503 upstream_error for code %i and not cache it', async (code) => {
      const app = protectedApp(middleware());
      suite.emulator.setFault({ returnCode: code, times: 1 });
      const res = await request(app).get('/protected?user=alice').expect(503);
      expect(res.body).toEqual({ error: 'unavailable', reason: 'upstream_error', code });
      expect(res.headers['retry-after']).toBe('1');
      expect(res.headers['cache-control']).toBe('no-store');
      const before = checks();
      await request(app).get('/protected?user=alice').expect(200);
      expect(checks() - before).toBe(1);
    });
  });

  describe('CENTAGATE unavailable', () => {
    it.each([
      ['no answer', { noAnswer: true }],
      ['an answer after the timeout', { latencyMs: 600 }],
      ['HTTP 500 with HTML', { httpStatus: 500 }],
      ['invalid JSON', { invalidJson: true }],
    ])('should answer 503 upstream_unavailable on %s within the time budget', async (_label, fault) => {
      const app = protectedApp(middleware({ timeoutMs: 150, retries: 1 }));
      suite.emulator.setFault(fault);
      const started = performance.now();
      const res = await request(app).get('/protected?user=alice').expect(503);
      expect(performance.now() - started).toBeLessThan(150 * 2 + 200 + 500);
      expect(res.body).toEqual({ error: 'unavailable', reason: 'upstream_unavailable' });
      expect(res.headers['retry-after']).toBe('1');
      expect(res.headers['www-authenticate']).toBeUndefined();
      suite.emulator.setFault();
      await request(app).get('/protected?user=alice').expect(200);
    });

    it('should answer 503 when the connection is refused', async () => {
      const mw = requireCentagateSession(usernameFromQuery, { baseUrl: await refusedBaseUrl(), ...suite.admin });
      made.push(mw);
      const res = await request(protectedApp(mw)).get('/protected?user=alice').expect(503);
      expect(res.body.reason).toBe('upstream_unavailable');
    });

    it.each([
      ['a body over 64 KiB', (res: import('node:http').ServerResponse) => res.writeHead(200).end(JSON.stringify({ code: 0, pad: 'x'.repeat(70_000) }))],
      ['a redirect', (res: import('node:http').ServerResponse) => res.writeHead(307, { location: 'http://127.0.0.1:1/' }).end()],
      ['JSON without code', (res: import('node:http').ServerResponse) => res.writeHead(200).end('{"message":"ok"}')],
    ])('should answer 503 upstream_unavailable on %s', async (_label, fault) => {
      const fake = await startFakeCentagate((_req, res) => {
        fault(res);
      });
      const mw = requireCentagateSession(usernameFromQuery, { baseUrl: fake.baseUrl, ...suite.admin, retries: 0 });
      try {
        const res = await request(protectedApp(mw)).get('/protected?user=alice').expect(503);
        expect(res.body.reason).toBe('upstream_unavailable');
        expect(fake.requests).toHaveLength(1);
      } finally {
        mw.close();
        await fake.close();
      }
    });
  });

  describe('getUsername errors', () => {
    it.each([
      ['throws', () => { throw new Error('getter broke'); }],
      ['rejects', () => Promise.reject(new Error('getter broke'))],
    ])('should pass the error to next(err) when getUsername %s', async (_label, getter) => {
      const mw = requireCentagateSession(getter, { baseUrl: suite.emulator.baseUrl, ...suite.admin });
      made.push(mw);
      const res = await request(protectedApp(mw)).get('/protected').expect(500);
      expect(res.body).toEqual({ name: 'Error', message: 'getter broke' });
    });

    it('should pass a TypeError to next(err) when getUsername returns a number', async () => {
      const mw = requireCentagateSession((() => 42) as unknown as () => string, { baseUrl: suite.emulator.baseUrl, ...suite.admin });
      made.push(mw);
      const res = await request(protectedApp(mw)).get('/protected').expect(500);
      expect(res.body.name).toBe('TypeError');
      expect(res.body.message).toMatch(/getUsername must return a string, null or undefined; got number/);
    });
  });

  describe('onDenied and realm', () => {
    it('should hand the denial to onDenied so an HTML app can redirect', async () => {
      const denials: CentagateDenial[] = [];
      const app = protectedApp(
        middleware({
          onDenied: (denial, _req, res) => {
            denials.push(denial);
            res.redirect('/login');
          },
        }),
      );
      const res = await request(app).get('/protected?user=nobody').expect(302);
      expect(res.headers['location']).toBe('/login');
      expect(denials).toHaveLength(1);
      const [denial] = denials;
      expect(denial).toMatchObject({ status: 401, reason: 'session_inactive', code: 10001 });
      expect(denial!.error).toBeInstanceOf(CentagateUnauthorizedError);
      expect(denial!.error).toMatchObject({ name: 'CentagateUnauthorizedError', code: 'session_inactive', status: 401, returnCode: 10001 });
    });

    it("should let onDenied hand the typed error to Express's own error handler", async () => {
      const app = protectedApp(middleware({ onDenied: (denial, _req, _res, next) => { next(denial.error); } }), { errorHandler: false });
      const denied = await request(app).get('/protected?user=nobody').expect(401);
      expect(denied.headers['www-authenticate']).toBe('CentagateSession realm="centagate"');
      suite.emulator.setFault({ returnCode: 10004 });
      const unavailable = await request(app).get('/protected?user=alice').expect(503);
      expect(unavailable.headers['retry-after']).toBe('1');
    });

    it('should give onDenied a CentagateUnavailableError for a 503', async () => {
      let seen: CentagateDenial | undefined;
      const app = protectedApp(middleware({ onDenied: (denial, _req, res) => { seen = denial; res.status(denial.status).end(); } }));
      suite.emulator.setFault({ httpStatus: 502 });
      await request(app).get('/protected?user=alice').expect(503);
      expect(seen?.error).toBeInstanceOf(CentagateUnavailableError);
      expect(seen).toMatchObject({ status: 503, reason: 'upstream_unavailable', error: { failure: 'http_status' } });
      expect(seen && 'code' in seen).toBe(false);
    });

    it('should pass an error thrown or rejected by onDenied to next(err)', async () => {
      const throwing = protectedApp(middleware({ onDenied: () => { throw new Error('handler broke'); } }));
      expect((await request(throwing).get('/protected?user=nobody').expect(500)).body.message).toBe('handler broke');
      const rejecting = protectedApp(middleware({ onDenied: () => Promise.reject(new Error('async handler broke')) }));
      expect((await request(rejecting).get('/protected?user=nobody').expect(500)).body.message).toBe('async handler broke');
    });

    it('should put the realm option in WWW-Authenticate', async () => {
      const res = await request(protectedApp(middleware({ realm: 'intranet' }))).get('/protected').expect(401);
      expect(res.headers['www-authenticate']).toBe('CentagateSession realm="intranet"');
    });
  });

  describe('logging', () => {
    it('should log one line per decision with username, outcome, reason, code, cached and duration', async () => {
      const { logger, lines } = capturedLogger();
      const app = protectedApp(middleware({ logger }));
      await request(app).get('/protected?user=alice').expect(200);
      await request(app).get('/protected?user=alice').expect(200);
      await request(app).get('/protected?user=nobody').expect(401);
      suite.emulator.setFault({ httpStatus: 500 });
      await request(app).get('/protected?user=bob').expect(503);
      expect(lines).toHaveLength(4);
      expect(lines[0]).toMatchObject({ level: 20, username: 'alice', outcome: 'allowed', code: 0, cached: false });
      expect(lines[1]).toMatchObject({ level: 20, username: 'alice', outcome: 'allowed', cached: true });
      expect(lines[2]).toMatchObject({ level: 30, username: 'nobody', outcome: 'denied', reason: 'session_inactive', code: 10001, cached: false });
      expect(lines[3]).toMatchObject({ level: 40, username: 'bob', outcome: 'unavailable', reason: 'upstream_unavailable' });
      for (const line of lines) expect(line['durationMs']).toEqual(expect.any(Number));
    });

    it('should use req.log from pino-http when no logger is given', async () => {
      const { logger, lines } = capturedLogger();
      const app = express();
      app.use(pinoHttp({ logger }));
      app.get('/protected', middleware(), (_req, res) => { res.end('ok'); });
      await request(app).get('/protected?user=nobody').expect(401);
      const decision = lines.find((line) => line['outcome'] === 'denied');
      expect(decision).toMatchObject({ username: 'nobody', reason: 'session_inactive' });
      // The line carries pino-http's request binding: it was logged through req.log.
      expect(decision?.['req']).toBeDefined();
    });

    it('should never log or answer the authToken, secretCode, cenToken or upstream URL', async () => {
      const { logger, raw } = capturedLogger();
      const app = protectedApp(middleware({ logger, timeoutMs: 100, retries: 0 }));
      const bodies: string[] = [];
      const faults = [undefined, { httpStatus: 500 }, { invalidJson: true }, { noAnswer: true }, { returnCode: 10004 }, { returnCode: 10001 }];
      for (const fault of faults) {
        suite.emulator.setFault(fault);
        bodies.push(JSON.stringify((await request(app).get('/protected?user=alice')).body));
        bodies.push(JSON.stringify((await request(app).get('/protected?user=carol')).body));
      }
      const cenToken = computeCenToken(suite.admin);
      expectNoSecrets([...raw, ...bodies].join('\n'), {
        authToken: suite.admin.authToken,
        secretCode: suite.admin.secretCode,
        cenToken,
        upstreamPath: '/session/check/',
        baseUrl: suite.emulator.baseUrl,
      });
      expect(raw.length).toBeGreaterThanOrEqual(faults.length * 2);
    });
  });
});
