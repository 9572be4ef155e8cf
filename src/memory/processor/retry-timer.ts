/**
 * One service's retry after a failure (the memory store, or the extraction LLM): a single
 * timer, its wait drawn from a capped exponential backoff that a success resets. What it runs
 * is a background task: its failure is handed to `onError`, never left unhandled.
 */
import { Backoff, type BackoffOptions } from '../../lib/backoff.js';

/** What an operator sees of a retry in stats. */
export interface RetrySnapshot {
  /** Retries since the last success (0: the service works). */
  attempts: number;
  /** When the next retry runs (ISO), while one is scheduled. */
  nextAttemptAt?: string;
}

export class RetryTimer {
  readonly #backoff: Backoff;
  readonly #run: () => Promise<void>;
  readonly #onError: (error: unknown) => void;
  #timer: NodeJS.Timeout | undefined;
  #nextAt: number | undefined;
  #stopped = false;

  /**
   * @param run what to do when the wait is over (e.g. write the pending batches again)
   * @param onError receives a failure of `run` (it is logged and counted there)
   * @param options backoff steps (defaults: 1 s, doubling, capped at 60 s)
   */
  constructor(
    run: () => Promise<void>,
    onError: (error: unknown) => void,
    options: BackoffOptions = {},
  ) {
    this.#run = run;
    this.#onError = onError;
    this.#backoff = new Backoff(options);
  }

  /** A retry is waiting: whoever would call the service now leaves it to the retry. */
  get pending(): boolean {
    return this.#timer !== undefined;
  }

  /** After a failure: runs the retry after the next backoff step (once, however many failed). */
  schedule(): void {
    if (this.#timer !== undefined || this.#stopped) return;
    const delay = this.#backoff.next();
    this.#nextAt = Date.now() + delay;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#nextAt = undefined;
      this.#run().catch(this.#onError);
    }, delay);
    // A retry must never keep a finished job process alive.
    this.#timer.unref();
  }

  /** The service answered: the next failure starts from the first step again. */
  succeeded(): void {
    this.#backoff.reset();
  }

  /** No more retries (the processor is closed). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#nextAt = undefined;
  }

  snapshot(): RetrySnapshot {
    const snapshot: RetrySnapshot = { attempts: this.#backoff.attempts };
    if (this.#nextAt !== undefined) snapshot.nextAttemptAt = new Date(this.#nextAt).toISOString();
    return snapshot;
  }
}
