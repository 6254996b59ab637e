/** A waiter for a free place, in arrival order. */
interface Waiter {
  resolve: () => void;
  reject: (reason: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * At most `max` upstream checks at once; up to `maxQueue` more wait in arrival order,
 * each for at most the deadline it was given. A handful of lines: p-limit and p-queue
 * have no per-waiter deadline, which is the part that matters here.
 */
export class ConcurrencyLimit {
  #active = 0;
  readonly #queue = new Set<Waiter>();
  readonly #max: number;
  readonly #maxQueue: number;

  constructor(max: number, maxQueue: number) {
    this.#max = max;
    this.#maxQueue = maxQueue;
  }

  /** Checks running now. */
  get active(): number {
    return this.#active;
  }

  /** Checks waiting for a place. */
  get waiting(): number {
    return this.#queue.size;
  }

  /**
   * Resolves when a place is free. Rejects with `overloaded()` at once when the queue is
   * full, or once `deadlineMs` passed without a place.
   */
  acquire(deadlineMs: number, overloaded: () => Error): Promise<void> {
    if (this.#active < this.#max) {
      this.#active += 1;
      return Promise.resolve();
    }
    if (this.#queue.size >= this.#maxQueue) return Promise.reject(overloaded());
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#queue.delete(waiter);
          reject(overloaded());
        }, deadlineMs),
      };
      this.#queue.add(waiter);
    });
  }

  /** Gives a place back: to the longest waiter, if any. */
  release(): void {
    // A Set iterates in insertion order: the first waiter is the oldest.
    for (const waiter of this.#queue) {
      this.#queue.delete(waiter);
      clearTimeout(waiter.timer);
      waiter.resolve();
      return;
    }
    this.#active -= 1;
  }
}
