import { describe, expect, it } from '@jest/globals';
import express from 'express';
import express4 from 'express4';
import request from 'supertest';
import type { Request } from 'express';
import { attachSession } from '../src/request-session.js';
import type { CentagateSession } from '../src/types.js';

const session = (username: string): CentagateSession => ({ username, code: 0, message: 'Success', object: null, checkedAt: 1, cached: false });

describe('attachSession', () => {
  it.each([['Express 5', express], ['Express 4', express4 as unknown as typeof express]])(
    'should set req.centagateSession per request in %s, readable and overwritable by the app',
    async (_label, makeApp) => {
      const app = makeApp();
      app.get('/', (req, res) => {
        const before = req.centagateSession;
        attachSession(req, session(typeof req.query['user'] === 'string' ? req.query['user'] : 'nobody'));
        const attached = req.centagateSession?.username;
        req.centagateSession = session('changed-by-app');
        res.json({ before: before ?? null, attached, after: req.centagateSession.username, enumerable: Object.keys(req).includes('centagateSession') });
      });
      const first = await request(app).get('/?user=alice').expect(200);
      expect(first.body).toEqual({ before: null, attached: 'alice', after: 'changed-by-app', enumerable: false });
      // A later request on the same app starts without a session.
      const second = await request(app).get('/?user=bob').expect(200);
      expect(second.body).toMatchObject({ before: null, attached: 'bob' });
    },
  );

  it('should fall back to a plain property on an object whose prototype is Object.prototype', () => {
    const req = {} as unknown as Request;
    attachSession(req, session('plain'));
    expect(Object.getOwnPropertyDescriptor(req, 'centagateSession')?.value).toMatchObject({ username: 'plain' });
    expect(Object.getOwnPropertyDescriptor(Object.prototype, 'centagateSession')).toBeUndefined();
  });

  it('should not replace a centagateSession property that something else defined on the prototype', () => {
    const prototype = { centagateSession: 'theirs' };
    const req = Object.create(prototype) as Request;
    attachSession(req, session('ours'));
    expect(Object.getOwnPropertyDescriptor(prototype, 'centagateSession')?.value).toBe('theirs');
    expect(req.centagateSession).toMatchObject({ username: 'ours' });
  });
});
