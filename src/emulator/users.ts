/** A user the emulator knows. */
export interface EmulatorUser {
  username: string;
  password: string;
  /**
   * `'user'` may check only its own session; `'admin'` is a service account whose
   * credentials may check any user's session.
   */
  role: 'user' | 'admin';
}

/**
 * The users every emulator starts with. Demo credentials only: they are
 * printed by the `centagate-emulator` command and shown by the example app.
 */
export const DEMO_USERS: readonly EmulatorUser[] = Object.freeze([
  { username: 'alice', password: 'alice-demo-password', role: 'user' },
  { username: 'bob', password: 'bob-demo-password', role: 'user' },
  { username: 'centagate-admin', password: 'admin-demo-password', role: 'admin' },
] as const satisfies readonly EmulatorUser[]);

/** CENTAGATE's return codes, as the vendor documents them. */
export const RETURN_CODES = Object.freeze({
  SUCCESS: 0,
  PERMISSION_NOT_ALLOWED: 10001,
  INVALID_INPUT: 10002,
  DB_PROTECTION_ERROR: 10003,
  DB_ERROR: 10004,
  CRYPTO_ERROR: 10011,
  /** The emulator's own code for an unknown user or a wrong password at sign-in (not a vendor code). */
  SIGN_IN_FAILED: 23001,
});

export const RETURN_MESSAGES: Readonly<Record<number, string>> = Object.freeze({
  0: 'Success',
  10001: 'Permission not allowed',
  10002: 'Invalid Input',
  10003: 'DB protection error',
  10004: 'DB error',
  10011: 'Crypto error',
  23001: 'Invalid username or password',
});
