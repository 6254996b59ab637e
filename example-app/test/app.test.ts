import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import request from 'supertest';
import { startCentagateEmulator, type CentagateEmulator } from 'express-centagate-session/emulator';
import { createExampleApp, type ExampleApp } from '../src/app.js';

const silent = pino({ level: 'silent' });

describe('the example app with the emulator', () => {
  let emulator: CentagateEmulator;
  let example: ExampleApp;

  beforeAll(async () => {
    emulator = await startCentagateEmulator();
    example = createExampleApp({ baseUrl: emulator.baseUrl, ...emulator.app, logger: silent, demoUsers: emulator.users, emulatorSignOut: true });
  });
  afterAll(async () => {
    example.close();
    await emulator.close();
  });

  it('should serve the public page without a session', async () => {
    const res = await request(example.app).get('/').expect(200);
    expect(res.text).toContain('Public page');
    expect(res.text).toContain('You are not signed in');
  });

  it('should list the demo users on the sign-in form', async () => {
    const res = await request(example.app).get('/login').expect(200);
    expect(res.text).toContain('name="username"');
    expect(res.text).toContain('name="password"');
    expect(res.text).toContain('alice-demo-password');
  });

  it('should re-render the form for a wrong password without echoing it or a stack trace', async () => {
    const res = await request(example.app).post('/login').type('form').send({ username: 'alice', password: 'guess-123' }).expect(401);
    expect(res.text).toContain('Wrong username or password.');
    expect(res.text).toContain('value="alice"');
    expect(res.text).not.toContain('guess-123');
    expect(res.text).not.toMatch(/at \w+ \(|Error:/);
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('should refuse an empty form with 400', async () => {
    const res = await request(example.app).post('/login').type('form').send({ username: '', password: '' }).expect(400);
    expect(res.text).toContain('Enter a username and a password.');
  });

  it('should escape what it shows back', async () => {
    const res = await request(example.app).post('/login').type('form').send({ username: '<script>x</script>', password: 'p' }).expect(401);
    expect(res.text).toContain('&lt;script&gt;x&lt;/script&gt;');
    expect(res.text).not.toContain('<script>x</script>');
  });

  it('should sign in, show the dashboard and API, sign out, and deny both at once afterwards', async () => {
    const agent = request.agent(example.app);
    const signIn = await agent.post('/login').type('form').send({ username: 'alice', password: 'alice-demo-password' }).expect(303);
    expect(signIn.headers['location']).toBe('/dashboard');
    const cookie = String(signIn.headers['set-cookie']);
    expect(cookie).toMatch(/example\.sid=/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    // The cookie holds a session id only, never CENTAGATE's tokens.
    expect(cookie.length).toBeLessThan(200);

    const dashboard = await agent.get('/dashboard').expect(200);
    expect(dashboard.text).toContain('<dd id="username">alice</dd>');
    expect(dashboard.text).toContain('<dd id="cached">false</dd>');
    expect((await agent.get('/dashboard').expect(200)).text).toContain('<dd id="cached">true</dd>');

    const me = await agent.get('/api/me').expect(200);
    expect(me.body).toMatchObject({ username: 'alice', cached: false });
    expect(me.body.checkedAt).toEqual(expect.any(Number));

    const logout = await agent.post('/logout').expect(303);
    expect(logout.headers['location']).toBe('/login');
    expect(emulator.requestLog.some((line) => /^POST \/CentagateWS\/webresources\/emulator\/signOut\/alice\/[0-9a-f]{64}$/.test(line))).toBe(true);

    const deniedPage = await agent.get('/dashboard').expect(303);
    expect(deniedPage.headers['location']).toBe('/login');
    const deniedApi = await agent.get('/api/me').expect(401);
    expect(deniedApi.body).toEqual({ error: 'unauthorized', reason: 'missing_username' });

    // The old cookie, replayed after sign-out, is worth nothing either.
    const replay = await request(example.app).get('/api/me').set('cookie', cookie.split(';')[0]!).expect(401);
    expect(replay.body.reason).toBe('missing_username');
  });

  it('should deny a signed-in app session once CENTAGATE has ended it and the cache entry is gone', async () => {
    const agent = request.agent(example.app);
    await agent.post('/login').type('form').send({ username: 'bob', password: 'bob-demo-password' }).expect(303);
    await agent.get('/api/me').expect(200);
    await emulator.signOut('bob');
    // A fresh sign-in elsewhere invalidates bob's cached answers: the ended session is asked about again.
    await request(example.app).post('/login').type('form').send({ username: 'bob', password: 'bob-demo-password' }).expect(303);
    const res = await agent.get('/api/me').expect(401);
    expect(res.body).toEqual({ error: 'unauthorized', reason: 'session_inactive', code: 10001 });
    expect((await agent.get('/dashboard').expect(303)).headers['location']).toBe('/login');
  });
});

describe('the example app when CENTAGATE is down', () => {
  it('should answer 503 on /api/me and an HTML 503 on /dashboard', async () => {
    const emulator = await startCentagateEmulator();
    const example = createExampleApp({ baseUrl: emulator.baseUrl, ...emulator.app, logger: silent, sessionOptions: { retries: 0 } });
    try {
      const agent = request.agent(example.app);
      await agent.post('/login').type('form').send({ username: 'alice', password: 'alice-demo-password' }).expect(303);
      await emulator.close();
      const api = await agent.get('/api/me').expect(503);
      expect(api.body).toEqual({ error: 'unavailable', reason: 'upstream_unavailable' });
      expect(api.headers['retry-after']).toBe('1');
      const page = await agent.get('/dashboard').expect(503);
      expect(page.text).toContain('CENTAGATE is not reachable');
      const signIn = await request(example.app).post('/login').type('form').send({ username: 'alice', password: 'alice-demo-password' }).expect(503);
      expect(signIn.text).toContain('CENTAGATE is not reachable');
    } finally {
      example.close();
    }
  });
});
