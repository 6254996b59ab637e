import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express4 from 'express4';
import request from 'supertest';
import { startCentagateEmulator, type CentagateEmulator } from '../src/emulator/index.js';
import { requireCentagateSession, type CentagateSessionMiddleware } from '../src/middleware.js';
import { serviceAccount } from './helpers/harness.js';

describe('requireCentagateSession in an Express 4 app', () => {
  let emulator: CentagateEmulator;
  let mw: CentagateSessionMiddleware;
  let app: express4.Express;

  beforeAll(async () => {
    emulator = await startCentagateEmulator();
    await emulator.signIn('alice');
    mw = requireCentagateSession((req) => req.get('x-user'), { baseUrl: emulator.baseUrl, ...(await serviceAccount(emulator)) });
    app = express4();
    app.get('/protected', mw as unknown as express4.RequestHandler, (req, res) => {
      res.json({ username: req.centagateSession?.username, cached: req.centagateSession?.cached });
    });
    app.get('/throwing', requireCentagateSession(() => { throw new Error('getter broke'); }, { baseUrl: emulator.baseUrl, authToken: 'a', secretCode: 's', adminUsername: 'x' }) as unknown as express4.RequestHandler);
    app.use((err: Error, _req: express4.Request, res: express4.Response, _next: express4.NextFunction) => {
      res.status(500).json({ message: err.message });
    });
  });
  afterAll(async () => {
    mw.close();
    await emulator.close();
  });

  it('should let an active session through and set req.centagateSession', async () => {
    const res = await request(app).get('/protected').set('x-user', 'alice').expect(200);
    expect(res.body).toEqual({ username: 'alice', cached: false });
  });

  it('should answer the default 401 with its headers', async () => {
    const res = await request(app).get('/protected').set('x-user', 'nobody').expect(401);
    expect(res.body).toEqual({ error: 'unauthorized', reason: 'session_inactive', code: 10001 });
    expect(res.headers['www-authenticate']).toBe('CentagateSession realm="centagate"');
  });

  it('should answer 503 with Retry-After when CENTAGATE fails', async () => {
    emulator.setFault({ httpStatus: 500, times: 1 });
    const res = await request(app).get('/protected').set('x-user', 'bob').expect(503);
    expect(res.headers['retry-after']).toBe('1');
  });

  it('should pass a getter error to the Express 4 error handler (Express 4 does not await promises)', async () => {
    const res = await request(app).get('/throwing').expect(500);
    expect(res.body.message).toBe('getter broke');
  });
});
