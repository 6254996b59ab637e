import type { Request } from 'express';
import type { CentagateSession } from './types.js';

/**
 * Sets `req.centagateSession` without adding a property to each request.
 *
 * Express gives every request its app's `app.request` as prototype (its documented place
 * for extending `req`). Adding an own property to such an object costs a few microseconds
 * per request in V8, measured at about 4 % of a cache hit's throughput (`npm run bench`).
 * So the first time a prototype is seen, an accessor is defined on it that keeps the value
 * in a WeakMap keyed by the request: reads and writes of `req.centagateSession` — ours and
 * the app's — behave as before, and the value goes with the request.
 */
const sessions = new WeakMap<object, CentagateSession | undefined>();
const seenPrototypes = new WeakSet<object>();

function defineAccessor(prototype: object | null): void {
  if (prototype === null || seenPrototypes.has(prototype)) return;
  seenPrototypes.add(prototype);
  // Never on Object.prototype, and never over a property that something else defined.
  if (prototype === Object.prototype || Object.prototype.hasOwnProperty.call(prototype, 'centagateSession')) return;
  Object.defineProperty(prototype, 'centagateSession', {
    configurable: true,
    enumerable: false,
    get(this: object): CentagateSession | undefined {
      return sessions.get(this);
    },
    set(this: object, value: CentagateSession | undefined) {
      sessions.set(this, value);
    },
  });
}

/** Makes `session` the request's `req.centagateSession`. */
export function attachSession(req: Request, session: CentagateSession): void {
  defineAccessor(Object.getPrototypeOf(req) as object | null);
  req.centagateSession = session;
}
