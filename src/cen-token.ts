import { createHmac } from 'node:crypto';

/** The credentials a cenToken is computed from (what CENTAGATE's sign-in reply carries). */
export interface CentagateCredentials {
  /** The username whose session authorises the check: a service account, or the user itself. */
  adminUsername: string;
  /** The `authToken` from that user's CENTAGATE sign-in. Secret. */
  authToken: string;
  /** The `secretCode` from that user's CENTAGATE sign-in. Secret. */
  secretCode: string;
}

/**
 * Computes the cenToken CENTAGATE expects in `session/check/{username}/{cenToken}`:
 * lower-case hex HMAC-SHA256 keyed by the UTF-8 `secretCode` over the UTF-8
 * `adminUsername + authToken`. The fields are named so that no caller can swap two strings.
 *
 * @example
 * computeCenToken({ adminUsername: 'svc', authToken: 'tok', secretCode: 'sec' });
 * // → 64 lower-case hex digits
 */
export function computeCenToken({ adminUsername, authToken, secretCode }: CentagateCredentials): string {
  for (const [name, value] of [
    ['adminUsername', adminUsername],
    ['authToken', authToken],
    ['secretCode', secretCode],
  ] as const) {
    if (typeof value !== 'string') {
      throw new TypeError(`computeCenToken: ${name} must be a string, got ${typeof value}.`);
    }
  }
  return createHmac('sha256', Buffer.from(secretCode, 'utf8'))
    .update(Buffer.from(adminUsername + authToken, 'utf8'))
    .digest('hex');
}

/** True for a string that has the shape of a cenToken: 64 lower-case hex digits. */
export function isCenToken(value: string): boolean {
  return /^[0-9a-f]{64}$/.test(value);
}
