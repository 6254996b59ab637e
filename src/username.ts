/** The longest username (in Unicode code points) the middleware sends to CENTAGATE. */
export const MAX_USERNAME_LENGTH = 256;

// C0 controls, DEL and C1 controls.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;
// A UTF-16 surrogate that is not part of a pair cannot be encoded as UTF-8.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Says why a username cannot be sent to CENTAGATE as one path segment, or
 * returns `undefined` when it can. Refused: the empty string, more than 256 code points, any
 * control character, `/` or `\`, exactly `.` or `..`, and a lone UTF-16
 * surrogate (it has no UTF-8 form, so it cannot be percent-encoded).
 */
export function usernameProblem(username: string): string | undefined {
  if (username === '') return 'it is empty';
  if (username === '.' || username === '..') return 'it is a dot segment';
  if (username.includes('/') || username.includes('\\')) return 'it contains a slash or backslash';
  if (CONTROL_CHARACTER.test(username)) return 'it contains a control character';
  if (LONE_SURROGATE.test(username)) return 'it contains an unpaired UTF-16 surrogate';
  // Count code points only when the UTF-16 length could exceed the limit.
  // The contract counts Unicode code points, which is what string iteration yields.
  // eslint-disable-next-line @typescript-eslint/no-misused-spread
  if (username.length > MAX_USERNAME_LENGTH && [...username].length > MAX_USERNAME_LENGTH) {
    return `it is longer than ${MAX_USERNAME_LENGTH} characters`;
  }
  return undefined;
}

/** The username as one percent-encoded path segment (call only after `usernameProblem` said none). */
export function usernamePathSegment(username: string): string {
  return encodeURIComponent(username);
}
