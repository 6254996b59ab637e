/** The longest username (in Unicode code points) the middleware sends to CENTAGATE. */
export const MAX_USERNAME_LENGTH = 256;

// C0 controls, DEL, C1 controls, slash and backslash: one scan for all refused characters.
// eslint-disable-next-line no-control-regex
const REFUSED_CHARACTER = /[\u0000-\u001f\u007f-\u009f/\\]/;

/**
 * Says why a username cannot be sent to CENTAGATE as one path segment, or
 * returns `undefined` when it can. Refused: the empty string, more than 256 code points, any
 * control character, `/` or `\`, exactly `.` or `..`, and a lone UTF-16
 * surrogate (it has no UTF-8 form, so it cannot be percent-encoded).
 */
export function usernameProblem(username: string): string | undefined {
  if (username === '') return 'it is empty';
  if (username === '.' || username === '..') return 'it is a dot segment';
  if (REFUSED_CHARACTER.test(username)) {
    return username.includes('/') || username.includes('\\') ? 'it contains a slash or backslash' : 'it contains a control character';
  }
  // A UTF-16 surrogate that is not part of a pair has no UTF-8 form.
  if (!username.isWellFormed()) return 'it contains an unpaired UTF-16 surrogate';
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
