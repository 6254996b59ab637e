import type { CentagateReply } from './client.js';
import { CentagateUnavailableError, type UnauthorizedReason } from './errors.js';

/** What CENTAGATE's answer means for the request, as the cache keeps it. */
export type Verdict =
  | {
      readonly active: true;
      readonly message: string;
      readonly object: unknown;
      /** Epoch ms when CENTAGATE confirmed the session. */
      readonly checkedAt: number;
      /** `performance.now()` at that moment, to age the entry on a monotonic clock. */
      readonly confirmedAt: number;
    }
  | {
      readonly active: false;
      readonly reason: Exclude<UnauthorizedReason, 'missing_username' | 'invalid_username'>;
      readonly returnCode: number;
      readonly message: string;
      readonly checkedAt: number;
      readonly confirmedAt: number;
    };

/** Return codes with which CENTAGATE says it could not decide: a 503, never cached. */
const UNDECIDED_CODES: ReadonlySet<number> = new Set([10003, 10004, 10011]);

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const entry of Object.values(value)) deepFreeze(entry);
  }
  return value;
}

/**
 * Classifies a CENTAGATE reply: code 0 is active; 10001, 10002 and unknown codes deny
 * (fail closed); 10003, 10004 and 10011 throw a 503 `upstream_error`.
 */
export function verdictOf(reply: CentagateReply): Verdict {
  const checkedAt = Date.now();
  const confirmedAt = performance.now();
  const { returnCode, message } = reply;
  if (returnCode === 0) {
    // Frozen: every request shares this object, so no handler can change what the next one sees.
    return { active: true, message, object: deepFreeze(reply.object), checkedAt, confirmedAt };
  }
  if (UNDECIDED_CODES.has(returnCode)) {
    throw new CentagateUnavailableError('return_code', `CENTAGATE could not decide (code ${returnCode}).`, { returnCode });
  }
  const reason = returnCode === 10001 ? 'session_inactive' : returnCode === 10002 ? 'invalid_input' : 'rejected';
  return { active: false, reason, returnCode, message, checkedAt, confirmedAt };
}
