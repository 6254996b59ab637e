import type { CentagateReply } from './client.js';
import { CentagateUnavailableError, type UnauthorizedReason } from './errors.js';
import type { SharedVerdict } from './store.js';

/** The reasons CENTAGATE's own answers can give. */
type DeniedReason = Exclude<UnauthorizedReason, 'missing_username' | 'invalid_username'>;

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
      readonly reason: DeniedReason;
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

/** The verdict as a shared store keeps it, valid for `ttlMs` from now. */
export function toShared(verdict: Verdict, ttlMs: number): SharedVerdict {
  const expiresAt = Date.now() + ttlMs;
  if (verdict.active) return { active: true, message: verdict.message, object: verdict.object, checkedAt: verdict.checkedAt, expiresAt };
  return { active: false, message: verdict.message, checkedAt: verdict.checkedAt, expiresAt, reason: verdict.reason, returnCode: verdict.returnCode };
}

const SHARED_REASONS: ReadonlySet<string> = new Set(['session_inactive', 'invalid_input', 'rejected']);

/** A verdict from a shared store: only `active: true` exactly is active; anything odd is a denial (fail closed). */
export function fromShared(shared: SharedVerdict): Verdict {
  // It passed the store's integrity check, but it crossed a network: read every field as unknown.
  const raw = shared as unknown as Partial<Record<keyof SharedVerdict, unknown>>;
  const checkedAt = typeof raw.checkedAt === 'number' ? raw.checkedAt : 0;
  // Map the epoch time onto this process's monotonic clock, to age the entry like a local one.
  const confirmedAt = performance.now() - Math.max(0, Date.now() - checkedAt);
  const message = typeof raw.message === 'string' ? raw.message : '';
  if (raw.active === true) return { active: true, message, object: deepFreeze(raw.object), checkedAt, confirmedAt };
  const reason = typeof raw.reason === 'string' && SHARED_REASONS.has(raw.reason) ? (raw.reason as DeniedReason) : 'rejected';
  const returnCode = typeof raw.returnCode === 'number' ? raw.returnCode : -1;
  return { active: false, reason, returnCode, message, checkedAt, confirmedAt };
}
