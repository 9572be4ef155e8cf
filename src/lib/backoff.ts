/**
 * Exponential backoff with jitter, capped: the wait before each retry of a service that is
 * down. The delay is drawn from the upper half of the exponential step ("equal jitter"), so
 * processes that failed together spread out, and a run of small random draws can never turn
 * the backoff into a tight loop: the n-th wait is at least half of `min(maxMs, baseMs·2ⁿ)`.
 */

export interface BackoffOptions {
  /** First step (default 1 s). */
  baseMs?: number;
  /** Largest step (default 60 s). */
  maxMs?: number;
  /** A number in [0, 1): `Math.random` unless a test needs fixed draws. */
  random?: () => number;
}

export class Backoff {
  readonly baseMs: number;
  readonly maxMs: number;
  readonly #random: () => number;
  #attempts = 0;

  /** @param options per-field defaults: an `undefined` field keeps its default */
  constructor(options: BackoffOptions = {}) {
    this.baseMs = options.baseMs ?? 1_000;
    this.maxMs = options.maxMs ?? 60_000;
    this.#random = options.random ?? Math.random;
    if (!(this.baseMs > 0 && this.maxMs >= this.baseMs))
      throw new RangeError('backoff needs 0 < baseMs <= maxMs');
  }

  /** Retries counted since the last success. */
  get attempts(): number {
    return this.#attempts;
  }

  /**
   * Counts one more retry.
   * @returns how long to wait before it, in ms
   */
  next(): number {
    const step = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.#attempts, 52));
    this.#attempts++;
    return Math.round(step / 2 + (step / 2) * this.#random());
  }

  /** After a success: the next failure starts again from the first step. */
  reset(): void {
    this.#attempts = 0;
  }
}
