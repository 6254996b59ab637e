import { afterAll, afterEach, beforeAll } from '@jest/globals';
import type { CentagateCredentials } from '../../src/cen-token.js';
import { startCentagateEmulator, type CentagateEmulator } from '../../src/emulator/index.js';
import { requireCentagateSession, type CentagateSessionMiddleware } from '../../src/middleware.js';
import type { CentagateSessionOptions } from '../../src/types.js';
import { serviceAccount, usernameFromQuery } from './harness.js';

/** An emulator for a describe block, with the service account signed in and a middleware factory. */
export interface EmulatorSuite {
  readonly emulator: CentagateEmulator;
  readonly admin: CentagateCredentials;
  /** A middleware on the emulator with the service account's credentials and `?user=` as the username. */
  middleware: (options?: CentagateSessionOptions) => CentagateSessionMiddleware;
  /** Session checks the emulator served so far. */
  checks: () => number;
}

/**
 * Registers the hooks of a describe block: start the emulator and sign in the service account
 * (and `signedIn` users) before all, clear faults after each, close every middleware and the
 * emulator after all.
 */
export function useEmulatorSuite(defaults: CentagateSessionOptions = {}, signedIn: readonly string[] = []): EmulatorSuite {
  let emulator: CentagateEmulator | undefined;
  let admin: CentagateCredentials | undefined;
  const made: CentagateSessionMiddleware[] = [];
  const started = (): { emulator: CentagateEmulator; admin: CentagateCredentials } => {
    if (emulator === undefined || admin === undefined) throw new Error('the emulator suite is used before beforeAll ran');
    return { emulator, admin };
  };

  beforeAll(async () => {
    emulator = await startCentagateEmulator();
    admin = await serviceAccount(emulator);
    for (const username of signedIn) await emulator.signIn(username);
  });
  afterEach(() => {
    emulator?.setFault();
  });
  afterAll(async () => {
    for (const mw of made) mw.close();
    await emulator?.close();
  });

  return {
    get emulator() {
      return started().emulator;
    },
    get admin() {
      return started().admin;
    },
    middleware: (options = {}) => {
      const running = started();
      const mw = requireCentagateSession(usernameFromQuery, { baseUrl: running.emulator.baseUrl, ...running.admin, ...defaults, ...options });
      made.push(mw);
      return mw;
    },
    checks: () => started().emulator.stats().checks,
  };
}
