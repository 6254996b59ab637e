import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import got from 'got';
import { computeCenToken } from '../src/cen-token.js';
import {
  DEMO_USERS,
  EmulatorSignInError,
  RETURN_CODES,
  signInHmac,
  startCentagateEmulator,
  type CentagateEmulator,
} from '../src/emulator/index.js';

const run = promisify(execFile);

interface Envelope {
  code: number;
  message: string;
  object: unknown;
}

describe('the CENTAGATE emulator', () => {
  let emulator: CentagateEmulator;

  beforeAll(async () => {
    emulator = await startCentagateEmulator();
  });
  afterEach(() => {
    emulator.setFault();
  });
  afterAll(async () => {
    await emulator.close();
  });

  async function check(method: 'PUT' | 'GET', username: string, cenToken: string): Promise<Envelope> {
    return got(`${emulator.baseUrl}/session/check/${encodeURIComponent(username)}/${cenToken}`, {
      method,
      retry: { limit: 0 },
    }).json<Envelope>();
  }

  async function signInOverHttp(fields: Record<string, string>): Promise<Envelope> {
    return got.post(`${emulator.baseUrl}/auth/authBasic`, { json: fields, retry: { limit: 0 } }).json<Envelope>();
  }

  function signedFields(username: string, password: string, overrides: Record<string, string> = {}): Record<string, string> {
    const fields = {
      username,
      password,
      integrationKey: emulator.app.integrationKey,
      unixTimestamp: String(Math.floor(Date.now() / 1000)),
      userAgent: 'jest',
      ipAddress: '127.0.0.1',
      ...overrides,
    };
    return { ...fields, hmac: signInHmac(emulator.app.secretKey, fields) };
  }

  it('should listen on 127.0.0.1 with a base URL under /CentagateWS/webresources', () => {
    expect(emulator.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/CentagateWS\/webresources$/);
    expect(emulator.users.map((user) => user.username)).toEqual(DEMO_USERS.map((user) => user.username));
  });

  it.each(['PUT', 'GET'] as const)("should answer code 0 with %s for a user's own open session", async (method) => {
    const alice = await emulator.signIn('alice');
    const reply = await check(method, 'alice', computeCenToken({ adminUsername: 'alice', ...alice }));
    expect(reply.code).toBe(0);
    expect(reply.message).toBe('Success');
    expect(typeof reply.object).toBe('string');
  });

  it('should answer 10001 for a cenToken made with the wrong secretCode', async () => {
    const alice = await emulator.signIn('alice');
    const reply = await check('PUT', 'alice', computeCenToken({ adminUsername: 'alice', authToken: alice.authToken, secretCode: 'wrong' }));
    expect(reply.code).toBe(RETURN_CODES.PERMISSION_NOT_ALLOWED);
  });

  it('should answer 10002 for a cenToken that is not 64 hex digits', async () => {
    expect((await check('PUT', 'alice', 'abc')).code).toBe(10002);
    expect((await check('GET', 'alice', 'z'.repeat(64))).code).toBe(10002);
  });

  it("should answer 10001 when a plain user checks someone else's session", async () => {
    await emulator.signIn('bob');
    const alice = await emulator.signIn('alice');
    const reply = await check('PUT', 'bob', computeCenToken({ adminUsername: 'alice', ...alice }));
    expect(reply.code).toBe(10001);
  });

  it('should let the admin service account check users, and answer 10001 for unknown or signed-out ones', async () => {
    const admin = await emulator.signIn('centagate-admin', 'admin-demo-password');
    const token = computeCenToken({ adminUsername: 'centagate-admin', ...admin });
    const carol = await emulator.signIn('carol');
    const checked = await check('PUT', 'carol', token);
    expect(checked.code).toBe(0);
    // The reply describes the checked user, not the service account that asked.
    expect(JSON.parse(checked.object as string)).toEqual({ username: 'carol', checkedBy: 'centagate-admin', userId: carol.userId });
    expect((await check('PUT', 'nobody-at-all', token)).code).toBe(10001);
    await emulator.signOut('carol');
    expect((await check('PUT', 'carol', token)).code).toBe(10001);
  });

  it('should end every session of a user on signOut', async () => {
    const first = await emulator.signIn('dave');
    const second = await emulator.signIn('dave');
    expect(await emulator.signOut('dave')).toBe(2);
    for (const session of [first, second]) {
      expect((await check('PUT', 'dave', computeCenToken({ adminUsername: 'dave', ...session }))).code).toBe(10001);
    }
  });

  it('should sign out over HTTP with the emulator extension endpoint', async () => {
    const erin = await emulator.signIn('erin');
    const token = computeCenToken({ adminUsername: 'erin', ...erin });
    const reply = await got.post(`${emulator.baseUrl}/emulator/signOut/erin/${token}`).json<Envelope>();
    expect(reply.code).toBe(0);
    expect((await check('PUT', 'erin', token)).code).toBe(10001);
  });

  it('should end a session that stayed idle longer than sessionIdleMs', async () => {
    const short = await startCentagateEmulator({ sessionIdleMs: 50 });
    try {
      const alice = await short.signIn('alice');
      const url = `${short.baseUrl}/session/check/alice/${computeCenToken({ adminUsername: 'alice', ...alice })}`;
      expect((await got.put(url).json<Envelope>()).code).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 120));
      expect((await got.put(url).json<Envelope>()).code).toBe(10001);
    } finally {
      await short.close();
    }
  });

  describe('sign-in', () => {
    it('should sign in over POST /auth/authBasic and return authToken and secretCode in a JSON-string object', async () => {
      const reply = await signInOverHttp(signedFields('alice', 'alice-demo-password'));
      expect(reply.code).toBe(0);
      expect(typeof reply.object).toBe('string');
      const object = JSON.parse(reply.object as string) as Record<string, string>;
      expect(object).toMatchObject({ username: 'alice' });
      expect(object['authToken']).toEqual(expect.any(String));
      expect(object['secretCode']).toEqual(expect.any(String));
      const token = computeCenToken({ adminUsername: 'alice', authToken: object['authToken']!, secretCode: object['secretCode']! });
      expect((await check('PUT', 'alice', token)).code).toBe(0);
    });

    it('should answer its sign-in failure code for a wrong password or an unknown user', async () => {
      expect((await signInOverHttp(signedFields('alice', 'wrong'))).code).toBe(RETURN_CODES.SIGN_IN_FAILED);
      expect((await signInOverHttp(signedFields('mallory', 'x'))).code).toBe(RETURN_CODES.SIGN_IN_FAILED);
    });

    it('should answer 10001 for a bad hmac and 10002 for a wrong integration key, a stale timestamp or missing fields', async () => {
      const tampered = { ...signedFields('alice', 'alice-demo-password'), hmac: '0'.repeat(64) };
      expect((await signInOverHttp(tampered)).code).toBe(10001);
      expect((await signInOverHttp(signedFields('alice', 'alice-demo-password', { integrationKey: 'other' }))).code).toBe(10002);
      expect((await signInOverHttp(signedFields('alice', 'alice-demo-password', { unixTimestamp: '1000' }))).code).toBe(10002);
      expect((await signInOverHttp({ username: 'alice' })).code).toBe(10002);
    });

    it('should reject signIn() with a password with the emulator code, and create users without one', async () => {
      const refused = emulator.signIn('alice', 'wrong');
      await expect(refused).rejects.toBeInstanceOf(EmulatorSignInError);
      await expect(refused).rejects.toMatchObject({ returnCode: RETURN_CODES.SIGN_IN_FAILED });
      const created = await emulator.signIn('brand-new-user');
      expect(created).toMatchObject({ username: 'brand-new-user' });
    });
  });

  describe('fault injection', () => {
    it('should answer the injected return code, then clear after `times`', async () => {
      const alice = await emulator.signIn('alice');
      const token = computeCenToken({ adminUsername: 'alice', ...alice });
      emulator.setFault({ returnCode: 10004, times: 1 });
      expect((await check('PUT', 'alice', token)).code).toBe(10004);
      expect((await check('PUT', 'alice', token)).code).toBe(0);
    });

    it('should answer HTTP 500 with HTML and 200 with invalid JSON', async () => {
      emulator.setFault({ httpStatus: 500 });
      const html = await got.put(`${emulator.baseUrl}/session/check/alice/${'0'.repeat(64)}`, { throwHttpErrors: false, retry: { limit: 0 } });
      expect(html.statusCode).toBe(500);
      expect(html.headers['content-type']).toMatch(/text\/html/);
      emulator.setFault({ invalidJson: true });
      const broken = await got.put(`${emulator.baseUrl}/session/check/alice/${'0'.repeat(64)}`);
      expect(() => JSON.parse(broken.body) as unknown).toThrow(SyntaxError);
    });

    it('should add latency and count every check served', async () => {
      const before = emulator.stats().checks;
      emulator.setFault({ latencyMs: 150 });
      const started = performance.now();
      await check('PUT', 'alice', '0'.repeat(64));
      expect(performance.now() - started).toBeGreaterThanOrEqual(140);
      expect(emulator.stats().checks).toBe(before + 1);
    });
  });

  it('should answer curl with an openssl-computed cenToken (the documented command line)', async () => {
    const alice = await emulator.signIn('alice');
    const { stdout: digest } = await run('sh', [
      '-c',
      'printf %s "$ADMIN$TOKEN" | openssl dgst -sha256 -hmac "$SECRET" -r | cut -d" " -f1',
    ], { env: { ...process.env, ADMIN: 'alice', TOKEN: alice.authToken, SECRET: alice.secretCode } });
    const { stdout } = await run('curl', ['-s', '-X', 'PUT', `${emulator.baseUrl}/session/check/alice/${digest.trim()}`]);
    expect(JSON.parse(stdout)).toMatchObject({ code: 0 });
  });
});
