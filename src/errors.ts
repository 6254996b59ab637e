/**
 * Error classes of express-centagate-session.
 *
 * Every error has a stable `code` (the denial reason of the contract), the HTTP
 * `status` it stands for and the `headers` an answer should carry, so that
 * `onDenied: (denial, req, res, next) => next(denial.error)` hands a complete
 * error to Express. No message or enumerable property ever carries an
 * `authToken`, a `secretCode`, a cenToken or the upstream URL.
 */

/** Why a request was answered 401. */
export type UnauthorizedReason =
  | 'missing_username'
  | 'invalid_username'
  | 'session_inactive'
  | 'invalid_input'
  | 'rejected';

/** Why a request was answered 503. */
export type UnavailableReason = 'upstream_error' | 'upstream_unavailable';

/** Every reason a request can be denied for. */
export type DenialReason = UnauthorizedReason | UnavailableReason;

/**
 * What went wrong on the way to CENTAGATE when no usable reply came back:
 * - `timeout`: an attempt took longer than `timeoutMs`;
 * - `network`: the connection failed (refused, reset, DNS);
 * - `http_status`: CENTAGATE answered with an HTTP status other than 2xx or 3xx;
 * - `redirect`: CENTAGATE answered with a redirect (never followed);
 * - `bad_body`: the body was not JSON or had no numeric `code`;
 * - `too_large`: the body was over 64 KiB;
 * - `return_code`: CENTAGATE answered a code that says it could not decide (10003, 10004, 10011);
 * - `breaker_open`: the circuit breaker refused to call CENTAGATE after repeated failures;
 * - `overloaded`: too many checks were in flight and this one could not wait for a place.
 */
export type UpstreamFailure =
  | 'timeout'
  | 'network'
  | 'http_status'
  | 'redirect'
  | 'bad_body'
  | 'too_large'
  | 'return_code'
  | 'breaker_open'
  | 'overloaded';

/** Base class of every error this package creates. */
export abstract class CentagateSessionError extends Error {
  /** The stable reason, e.g. `session_inactive`. */
  abstract readonly code: DenialReason;
  /** The HTTP status this error stands for. */
  abstract readonly status: 401 | 503;
  /** The headers an answer for this error carries. */
  abstract readonly headers: Readonly<Record<string, string>>;
  /** Alias of `status`, for error handlers that read `statusCode`. */
  get statusCode(): 401 | 503 {
    return this.status;
  }
  /** Tells Express's default error handler that the message is safe to show. */
  readonly expose = true;
  /** The CENTAGATE return code that led to this error, when there was one. */
  readonly returnCode: number | undefined;

  protected constructor(message: string, returnCode: number | undefined, options?: ErrorOptions) {
    super(message, options);
    this.returnCode = returnCode;
  }
}

const DEFAULT_REALM = 'centagate';

function quoteRealm(realm: string): string {
  return realm.replace(/["\\]/g, '\\$&');
}

/** A 401: CENTAGATE said the session is not valid, or the request named no usable username. */
export class CentagateUnauthorizedError extends CentagateSessionError {
  override readonly name = 'CentagateUnauthorizedError';
  readonly code: UnauthorizedReason;
  readonly status = 401 as const;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: UnauthorizedReason,
    message: string,
    options: { returnCode?: number; realm?: string } = {},
  ) {
    super(message, options.returnCode);
    this.code = code;
    this.headers = Object.freeze({
      'WWW-Authenticate': `CentagateSession realm="${quoteRealm(options.realm ?? DEFAULT_REALM)}"`,
      'Cache-Control': 'no-store',
    });
  }
}

/** A 503: CENTAGATE could not say whether the session is valid. */
export class CentagateUnavailableError extends CentagateSessionError {
  override readonly name = 'CentagateUnavailableError';
  readonly code: UnavailableReason;
  readonly status = 503 as const;
  readonly headers: Readonly<Record<string, string>>;
  /** What went wrong on the way to CENTAGATE. */
  readonly failure: UpstreamFailure;
  /** Seconds a client should wait before it tries again (the `Retry-After` header). */
  readonly retryAfterSeconds: number;

  constructor(
    failure: UpstreamFailure,
    message: string,
    options: { returnCode?: number; retryAfterSeconds?: number; cause?: Error } = {},
  ) {
    super(message, options.returnCode, options.cause ? { cause: options.cause } : undefined);
    this.failure = failure;
    this.code = failure === 'return_code' ? 'upstream_error' : 'upstream_unavailable';
    this.retryAfterSeconds = Math.max(1, Math.ceil(options.retryAfterSeconds ?? 1));
    this.headers = Object.freeze({
      'Retry-After': String(this.retryAfterSeconds),
      'Cache-Control': 'no-store',
    });
  }
}
