import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { computeCenToken } from '../src/cen-token.js';
import { requireCentagateSession } from '../src/middleware.js';
import { parseOptions } from '../src/options.js';
import type { CentagateSessionOptions } from '../src/types.js';
import { errorAsJson } from './helpers/harness.js';

const baseUrl = 'http://127.0.0.1:9/CentagateWS/webresources';
const statics = { adminUsername: 'svc', authToken: 'tok-SECRET', secretCode: 'code-SECRET' };
const getUsername = (): string => 'alice';

/** Calls the factory with options typed loosely, as a JavaScript caller could. */
function makeWith(getter: unknown, options: unknown): boolean {
  requireCentagateSession(getter as () => string, options as CentagateSessionOptions).close();
  return true;
}

/** The same with a valid getter. */
function make(options: unknown): boolean {
  return makeWith(getUsername, options);
}

describe('requireCentagateSession options', () => {
  const saved = { ...process.env };
  beforeEach(() => {
    for (const name of ['CENTAGATE_BASE_URL', 'CENTAGATE_ADMIN_USERNAME', 'CENTAGATE_AUTH_TOKEN', 'CENTAGATE_SECRET_CODE']) {
      Reflect.deleteProperty(process.env, name);
    }
  });
  afterEach(() => {
    process.env = { ...saved };
  });

  describe('getUsername', () => {
    it('should refuse a missing getter with a TypeError', () => {
      expect(() => makeWith(undefined, { baseUrl, ...statics })).toThrow(TypeError);
      expect(() => makeWith(undefined, { baseUrl, ...statics })).toThrow(/getUsername must be a function \(req\) => string \| null \| undefined, got undefined/);
    });

    it('should explain the argument order when the options come first', () => {
      expect(() => makeWith({ baseUrl, ...statics }, undefined)).toThrow(/The first argument is the getter and the options come second/);
    });

    it('should catch app.use(requireCentagateSession) written without the call', async () => {
      const app = express();
      app.use(requireCentagateSession as unknown as express.RequestHandler);
      app.use(errorAsJson);
      const res = await request(app).get('/').expect(500);
      expect(res.body.name).toBe('TypeError');
      expect(res.body.message).toMatch(/looks like you wrote app\.use\(requireCentagateSession\); call it instead/);
    });
  });

  describe('baseUrl and credentials', () => {
    it('should name the option and its environment variable when baseUrl is missing', () => {
      expect(() => make({ ...statics })).toThrow(/no baseUrl: pass baseUrl .* or set env CENTAGATE_BASE_URL/);
    });

    it('should refuse a baseUrl that is not an http(s) URL', () => {
      expect(() => make({ ...statics, baseUrl: 'cloud.example.com' })).toThrow(/baseUrl must be an absolute http\(s\) URL/);
      expect(() => make({ ...statics, baseUrl: 'file:///etc' })).toThrow(/baseUrl must use http: or https:/);
      expect(() => make({ ...statics, baseUrl: 42 })).toThrow(/baseUrl must be a string or URL, got 42/);
    });

    it('should name every missing credential and its environment variable', () => {
      expect(() => make({ baseUrl })).toThrow(
        /adminUsername \(env CENTAGATE_ADMIN_USERNAME\), authToken \(env CENTAGATE_AUTH_TOKEN\), secretCode \(env CENTAGATE_SECRET_CODE\)/,
      );
      expect(() => make({ baseUrl, adminUsername: 'svc', secretCode: 'x' })).toThrow(/set authToken \(env CENTAGATE_AUTH_TOKEN\), or pass credentials/);
    });

    it('should fall back to the environment variables', () => {
      process.env['CENTAGATE_BASE_URL'] = baseUrl;
      process.env['CENTAGATE_ADMIN_USERNAME'] = 'svc';
      process.env['CENTAGATE_AUTH_TOKEN'] = 'tok-SECRET';
      process.env['CENTAGATE_SECRET_CODE'] = 'code-SECRET';
      const config = parseOptions(getUsername, undefined);
      expect(config.baseUrl).toBe(baseUrl);
      expect(config.credentials).toEqual({ kind: 'static', adminUsername: 'svc', cenToken: computeCenToken(statics) });
    });

    it('should prefer options over the environment', () => {
      process.env['CENTAGATE_BASE_URL'] = 'http://wrong.invalid/x';
      const config = parseOptions(getUsername, { baseUrl, ...statics });
      expect(config.baseUrl).toBe(baseUrl);
    });

    it('should compute the static cenToken once and keep no authToken or secretCode', () => {
      const config = parseOptions(getUsername, { baseUrl, ...statics });
      expect(config.credentials).toEqual({ kind: 'static', adminUsername: 'svc', cenToken: computeCenToken(statics) });
      const shown = inspect(config, { depth: 5 });
      expect(shown).not.toContain('tok-SECRET');
      expect(shown).not.toContain('code-SECRET');
      expect(Object.isFrozen(config)).toBe(true);
    });

    it('should take per-request credentials without static ones, and refuse both at once', () => {
      const credentials = () => statics;
      expect(parseOptions(getUsername, { baseUrl, credentials }).credentials.kind).toBe('per-request');
      expect(() => make({ baseUrl, credentials, authToken: 'x' })).toThrow(/give either credentials or static authToken, not both/);
      expect(() => make({ baseUrl, credentials: 'svc' })).toThrow(/credentials must be a function/);
    });
  });

  describe('numbers, method and the rest', () => {
    it.each([
      [{ timeoutMs: 0 }, /timeoutMs must be a positive number of milliseconds, got 0/],
      [{ timeoutMs: -5 }, /timeoutMs must be a positive number/],
      [{ timeoutMs: Number.NaN }, /timeoutMs must be a positive number/],
      [{ timeoutMs: '2000' }, /timeoutMs must be a positive number of milliseconds, got "2000"/],
      [{ retries: -1 }, /retries must be a whole number from 0 to 10, got -1/],
      [{ retries: 11 }, /retries must be a whole number from 0 to 10/],
      [{ method: 'POST' }, /method must be 'PUT' or 'GET', got "POST"/],
      [{ method: 'put' }, /method must be 'PUT' or 'GET'/],
      [{ optional: 'yes' }, /optional must be true or false/],
      [{ onDenied: '/login' }, /onDenied must be a function \(denial, req, res, next\) => void/],
      [{ logger: console.log }, /logger must be a pino logger/],
      [{ realm: 'a"b' }, /realm must be a non-empty string without quotes/],
      [{ cache: true }, /cache must be an object such as \{ ttlMs: 30000 \} or false, got true/],
      [{ cache: { ttlMs: 0 } }, /cache\.ttlMs must be a positive number of milliseconds/],
      [{ cache: { negativeTtlMs: -1 } }, /cache\.negativeTtlMs must be zero or a positive number/],
      [{ cache: { staleIfErrorMs: Infinity } }, /cache\.staleIfErrorMs must be zero or a positive number/],
      [{ cache: { max: 0 } }, /cache\.max must be a whole number of entries of at least 1/],
      [{ cache: { negativeMax: -1 } }, /cache\.negativeMax must be a whole number of entries of at least 1/],
      [{ breaker: true }, /breaker must be an object such as \{ failures: 5, cooldownMs: 5000 \} or false/],
      [{ breaker: { failures: 0 } }, /breaker\.failures must be a whole number of consecutive failures of at least 1/],
      [{ breaker: { cooldownMs: 0 } }, /breaker\.cooldownMs must be a positive number of milliseconds/],
      [{ breaker: { threshold: 3 } }, /unknown option breaker\."threshold"\. Known options: failures, cooldownMs/],
      [{ maxInFlight: 0 }, /maxInFlight must be a whole number of checks of at least 1/],
      [{ cache: { max: 2.5 } }, /cache\.max must be a whole number/],
      [{ cache: { ttl: 5 } }, /unknown option cache\."ttl"\. Known options: ttlMs, negativeTtlMs, max, negativeMax, staleIfErrorMs/],
      [{ ttlMs: 5 }, /unknown option "ttlMs"\. It belongs inside cache: \{ ttlMs: … \}/],
      [{ Method: 'GET' }, /unknown option "Method"\. Did you mean "method"\?/],
      [{ timeout: 5 }, /unknown option "timeout"\./],
    ])('should refuse %j with a TypeError that names the option', (bad, message) => {
      expect(() => make({ baseUrl, ...statics, ...bad })).toThrow(TypeError);
      expect(() => make({ baseUrl, ...statics, ...bad })).toThrow(message);
    });

    it('should refuse options that are not an object', () => {
      expect(() => make('http://x')).toThrow(/options must be an object, got "http:\/\/x"/);
    });

    it('should apply the documented defaults', () => {
      const config = parseOptions(getUsername, { baseUrl, ...statics });
      expect(config).toMatchObject({
        method: 'PUT',
        timeoutMs: 2000,
        retries: 1,
        cache: { ttlMs: 30000, negativeTtlMs: 5000, max: 10000, negativeMax: 1000, staleIfErrorMs: 0 },
        breaker: { failures: 5, cooldownMs: 5000 },
        maxInFlight: 100,
        optional: false,
        logger: undefined,
        onDenied: undefined,
        realm: 'centagate',
      });
    });

    it('should merge a partial cache object over the cache defaults, and treat undefined as unset', () => {
      const config = parseOptions(getUsername, { baseUrl, ...statics, timeoutMs: undefined, cache: { ttlMs: 1000 } });
      expect(config.timeoutMs).toBe(2000);
      expect(config.cache).toEqual({ ttlMs: 1000, negativeTtlMs: 5000, max: 10000, negativeMax: 1000, staleIfErrorMs: 0 });
      expect(parseOptions(getUsername, { baseUrl, ...statics, cache: false }).cache).toBe(false);
    });
  });
});
