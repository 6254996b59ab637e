/** State of a {@link CircuitBreaker}. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** Settings of the circuit breaker that stops calling a failing CENTAGATE. */
export interface BreakerOptions {
  /** Consecutive 503-class upstream outcomes that open the breaker. Default `5`. */
  failures?: number;
  /** How long (ms) the breaker stays open before it lets one probe through. Default `5000`. */
  cooldownMs?: number;
}

/** Whether a check may go upstream now. */
export type Admission = { admitted: true } | { admitted: false; retryAfterMs: number };

/**
 * Counts consecutive upstream failures; after `failures` of them it opens and refuses
 * checks for `cooldownMs`, then lets one probe through (half-open): a success closes it,
 * a failure opens it for another cooldown. A dozen lines of state, hand-written: the
 * libraries (opossum) count failure percentages over rolling windows and wrap the call,
 * which is more code to configure than this is to read.
 */
export class CircuitBreaker<C = undefined> {
  #state: BreakerState = 'closed';
  #consecutiveFailures = 0;
  #openedAt = 0;
  #probeInFlight = false;
  readonly #failures: number;
  readonly #cooldownMs: number;
  readonly #onChange: (state: BreakerState, context: C) => void;
  readonly #now: () => number;
  /** How often it opened. */
  opened = 0;
  /** Checks it refused while open. */
  rejected = 0;

  constructor(options: Required<BreakerOptions>, onChange: (state: BreakerState, context: C) => void, now: () => number = () => performance.now()) {
    this.#failures = options.failures;
    this.#cooldownMs = options.cooldownMs;
    this.#onChange = onChange;
    this.#now = now;
  }

  get state(): BreakerState {
    return this.#state;
  }

  #moveTo(state: BreakerState, context: C): void {
    if (state === this.#state) return;
    this.#state = state;
    if (state === 'open') {
      this.#openedAt = this.#now();
      this.opened += 1;
    }
    this.#onChange(state, context);
  }

  /** Asks whether a check may go upstream; a refused one gets the time left in the cooldown. */
  admit(context: C): Admission {
    if (this.#state === 'closed') return { admitted: true };
    const left = this.#openedAt + this.#cooldownMs - this.#now();
    if (this.#state === 'open' && left <= 0) this.#moveTo('half-open', context);
    if (this.#state === 'half-open' && !this.#probeInFlight) {
      this.#probeInFlight = true;
      return { admitted: true };
    }
    this.rejected += 1;
    return { admitted: false, retryAfterMs: Math.max(left, 1000) };
  }

  /** CENTAGATE answered (any return code that is not a 503 outcome). */
  succeeded(context: C): void {
    this.#consecutiveFailures = 0;
    this.#probeInFlight = false;
    this.#moveTo('closed', context);
  }

  /** A 503-class outcome. */
  failed(context: C): void {
    this.#consecutiveFailures += 1;
    if (this.#state === 'half-open') {
      // A failed probe starts a new cooldown.
      this.#probeInFlight = false;
      this.#moveTo('open', context);
      return;
    }
    if (this.#state === 'closed' && this.#consecutiveFailures >= this.#failures) this.#moveTo('open', context);
  }
}
