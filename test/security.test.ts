import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { computeCenToken } from '../src/cen-token.js';
import { requireCentagateSession, type CentagateSessionMiddleware } from '../src/middleware.js';
import type { CentagateDenial } from '../src/types.js';
import { BASE_PATH, startFakeCentagate, type FakeCentagate } from './helpers/fake-centagate.js';
import { capturedLogger, protectedApp, usernameFromQuery } from './helpers/harness.js';
import { everyRendering, expectNoSecrets } from './helpers/secrets.js';

const credentials = { adminUsername: 'svc-admin', authToken: 'AUTH-TOKEN-s3cr3t-value', secretCode: 'SECRET-CODE-s3cr3t-value' };
const cenToken = computeCenToken(credentials);
const CHECK_PATH = new RegExp(`^${BASE_PATH}/session/check/[^/]+/[0-9a-f]{64}$`);
const replyCode = (res: ServerResponse, code: unknown): void => {
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ code, message: 'm', object: null }));
};

describe('security', () => {
  let fake: FakeCentagate;
  const made: CentagateSessionMiddleware[] = [];
  beforeAll(async () => {
    fake = await startFakeCentagate();
  });
  beforeEach(() => {
    fake.requests.length = 0;
    fake.answer((_req, res) => {
      replyCode(res, 0);
    });
  });
  afterAll(async () => {
    for (const mw of made) mw.close();
    await fake.close();
  });
  const middleware = (options: Parameters<typeof requireCentagateSession>[1] = {}): CentagateSessionMiddleware => {
    const mw = requireCentagateSession(usernameFromQuery, { baseUrl: fake.baseUrl, ...credentials, retries: 0, timeoutMs: 300, breaker: false, ...options });
    made.push(mw);
    return mw;
  };

  describe('hostile usernames never leave {baseUrl}/session/check/', () => {
    const hostile = [
      '../x', '..%2f', '..%2F..%2Fadmin', '%2e%2e', '%2e%2e%2f', '%00', 'a%00b', '?a=b', '#x', 'a b', 'a;b', '@evil.example',
      'http://evil.example/', '%0d%0aX-Injected: 1', 'x'.repeat(10_000), 'Ünïcødé-😀-中文-עברית', '\u202eevil', '.%2e', '%2e.',
      '..', '.', '/', 'a/../b', '\\..\\x', 'a\r\nX-Injected: 1', 'a\u0000b', 'x'.repeat(257),
      // A lone surrogate cannot cross HTTP (it arrives as U+FFFD); client.test.ts refuses it directly.
    ];

    it.each(hostile.map((username) => ({ username, shown: JSON.stringify(username.length > 40 ? `${username.slice(0, 40)}…` : username) })))(
      'should keep $shown on one path segment or send nothing',
      async ({ username }) => {
        const res = await request(protectedApp(middleware({ cache: false }))).get('/protected').query({ user: username });
        expect([200, 401]).toContain(res.status);
        if (fake.requests.length === 0) {
          expect(res.body.reason).toBe('invalid_username');
          return;
        }
        expect(fake.requests).toHaveLength(1);
        const [method, path] = fake.requests[0]!.split(' ');
        expect(method).toBe('PUT');
        expect(path).toMatch(CHECK_PATH);
        // The segment decodes back to exactly the username: nothing was reinterpreted on the way.
        expect(decodeURIComponent(path!.split('/')[5]!)).toBe(username);
        expect(path!.endsWith(`/${cenToken}`)).toBe(true);
      },
    );
  });

  describe('secrets', () => {
    it('should keep authToken, secretCode, cenToken and the upstream URL out of logs at trace, bodies and errors under every fault', async () => {
      const { logger, raw } = capturedLogger();
      const denials: CentagateDenial[] = [];
      const bodies: string[] = [];
      const faults: ((res: ServerResponse) => void)[] = [
        (res) => { replyCode(res, 0); },
        (res) => { replyCode(res, 10001); },
        (res) => { replyCode(res, 10004); },
        (res) => res.writeHead(500).end(`<html>${cenToken} ${fake.baseUrl}</html>`),
        (res) => res.writeHead(200).end(`not json ${cenToken}`),
        (res) => res.writeHead(302, { location: `${fake.baseUrl}/session/check/x/${cenToken}` }).end(),
        (res) => res.writeHead(200).end(JSON.stringify({ code: 0, message: 'x'.repeat(70_000) })),
        (res) => res.socket?.destroy(),
        () => undefined,
      ];
      for (const [index, fault] of faults.entries()) {
        fake.answer((_req, res) => {
          fault(res);
        });
        for (const onDenied of [undefined, (denial: CentagateDenial, _req: express.Request, res: express.Response) => {
          denials.push(denial);
          res.status(denial.status).json({ reason: denial.reason });
        }]) {
          const app = protectedApp(middleware({ logger, cache: false, ...(onDenied ? { onDenied } : {}) }));
          const res = await request(app).get(`/protected?user=user-${index}`);
          bodies.push(res.text, JSON.stringify(res.headers));
        }
      }
      expect(denials.length).toBeGreaterThan(5);
      const everything = [...raw, ...bodies, ...denials.map((denial) => everyRendering(denial.error))].join('\n');
      expectNoSecrets(everything, {
        authToken: credentials.authToken,
        secretCode: credentials.secretCode,
        cenToken,
        upstreamUrl: fake.baseUrl,
        upstreamPath: '/session/check/',
      });
      // The logs did say something about each fault.
      expect(raw.length).toBeGreaterThanOrEqual(faults.length * 2);
    });
  });

  describe('cache isolation', () => {
    it("should never serve user A's entry to user B, or to A with other credentials", async () => {
      const sets = {
        a: { adminUsername: 'alice', authToken: 'alice-token', secretCode: 'alice-secret' },
        b: { adminUsername: 'bob', authToken: 'bob-token', secretCode: 'bob-secret' },
      };
      const validFor = new Map([[computeCenToken(sets.a), 'alice'], [computeCenToken(sets.b), 'bob']]);
      // CENTAGATE stand-in: a cenToken may check only its own user.
      fake.answer((req, res) => {
        const [, , , , , username, token] = (req.url ?? '').split('/');
        replyCode(res, validFor.get(token ?? '') === decodeURIComponent(username ?? '') ? 0 : 10001);
      });
      const mw = requireCentagateSession(usernameFromQuery, {
        baseUrl: fake.baseUrl,
        credentials: (req) => (req.get('x-creds') === 'b' ? sets.b : sets.a),
      });
      made.push(mw);
      const app = protectedApp(mw);
      await request(app).get('/protected?user=alice').expect(200);
      await request(app).get('/protected?user=alice').expect(200);
      expect(fake.requests).toHaveLength(1);
      // Bob, and Alice with Bob's credentials: each is a new key, asked upstream, and denied.
      await request(app).get('/protected?user=bob').expect(401);
      await request(app).get('/protected?user=alice').set('x-creds', 'b').expect(401);
      expect(fake.requests).toHaveLength(3);
      await request(app).get('/protected?user=bob').set('x-creds', 'b').expect(200);
    });
  });

  describe('fail closed', () => {
    const notZero: [string, (res: ServerResponse) => void][] = [
      ['code 1', (res) => { replyCode(res, 1); }],
      ['code null', (res) => { replyCode(res, null); }],
      ['code true', (res) => { replyCode(res, true); }],
      ['code false', (res) => { replyCode(res, false); }],
      ['code ""', (res) => { replyCode(res, ''); }],
      ['code "0.0"', (res) => { replyCode(res, '0.0'); }],
      ['code 0.5', (res) => { replyCode(res, 0.5); }],
      ['code [0]', (res) => { replyCode(res, [0]); }],
      ['code {}', (res) => { replyCode(res, {}); }],
      ['code "zero"', (res) => { replyCode(res, 'zero'); }],
      ['no code', (res) => res.writeHead(200).end('{"message":"Success"}')],
      ['code 0 with HTTP 500', (res) => res.writeHead(500).end('{"code":0}')],
      ['code 0 with HTTP 302', (res) => res.writeHead(302, { location: '/' }).end('{"code":0}')],
      ['code 0 with HTTP 204', (res) => res.writeHead(204).end()],
      ['code 0 in an array', (res) => res.writeHead(200).end('[{"code":0}]')],
      ['code 0 after 64 KiB', (res) => res.writeHead(200).end(`{"pad":"${'x'.repeat(65_536)}","code":0}`)],
      ['a truncated body', (res) => res.writeHead(200).end('{"code":0')],
    ];

    it.each(notZero.map(([label, fault]) => ({ label, fault })))('should never reach next() on $label', async ({ fault }) => {
      fake.answer((_req, res) => {
        fault(res);
      });
      let reached = false;
      const app = express();
      app.get('/protected', middleware({ cache: false }), (_req, res) => {
        reached = true;
        res.end();
      });
      const res = await request(app).get('/protected?user=alice');
      expect([401, 503]).toContain(res.status);
      expect(reached).toBe(false);
    });
  });
});
