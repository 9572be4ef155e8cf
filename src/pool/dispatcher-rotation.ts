/**
 * The pool's current dispatcher, and the ones cleanup retired while they finish their requests.
 * Retiring never aborts a request; closing waits for them up to a deadline, then destroys.
 */
import pTimeout from 'p-timeout';
import { type CountedDispatcher, originCounts } from './dispatcher.js';

/** What the rotation needs of a dispatcher: its counts, a graceful close and a destroy. */
export interface RotatingDispatcher extends CountedDispatcher {
  close(): Promise<void>;
  destroy(): Promise<void>;
}

/** How `close` ended. */
export type CloseOutcome =
  /** Every request in flight finished before the deadline. */
  | 'finished'
  /** Requests were still running at the deadline: their connections were destroyed. */
  | 'destroyed-at-deadline'
  /** The deadline was 0: connections were destroyed at once, without waiting. */
  | 'destroyed-at-once';

export class DispatcherRotation<D extends RotatingDispatcher = RotatingDispatcher> {
  readonly #make: () => D;
  readonly #draining = new Set<D>();
  #current: D;
  #since = Date.now();

  /** @param make - builds a fresh dispatcher (one now, one per `retire`) */
  constructor(make: () => D) {
    this.#make = make;
    this.#current = make();
  }

  /** The dispatcher new requests go through. */
  get current(): D {
    return this.#current;
  }

  /** When (Date.now) the current dispatcher was made: none of its connections is older. */
  get since(): number {
    return this.#since;
  }

  /** Retired dispatchers still finishing their requests. */
  get draining(): number {
    return this.#draining.size;
  }

  /** @returns requests running on the current dispatcher, all origins together */
  runningRequests(): number {
    return Object.values(originCounts(this.#current)).reduce((n, o) => n + o.running, 0);
  }

  /**
   * Sends new requests through a fresh dispatcher and closes the old one gracefully: its idle
   * connections go at once, its requests in flight finish first.
   *
   * @returns the idle connections closed and the requests left running on the old dispatcher
   */
  retire(): { idleConnectionsClosed: number; requestsLeftRunning: number } {
    const old = this.#current;
    const before = Object.values(originCounts(old));
    this.#current = this.#make();
    this.#since = Date.now();
    this.#draining.add(old);
    void old
      .close()
      .catch(() => undefined)
      .finally(() => this.#draining.delete(old));
    return {
      idleConnectionsClosed: Math.max(
        0,
        before.reduce((n, o) => n + o.connected - o.running, 0),
      ),
      requestsLeftRunning: before.reduce((n, o) => n + o.running + o.pending, 0),
    };
  }

  /**
   * Closes every dispatcher, the retired ones too.
   *
   * @param timeoutMs - how long requests in flight may take to finish before their connections
   *   are destroyed. 0: destroy at once, no wait. `Infinity`: wait as long as they take.
   * @returns how it ended
   */
  async close(timeoutMs: number): Promise<CloseOutcome> {
    const dispatchers = [this.#current, ...this.#draining];
    const destroy = () => Promise.all(dispatchers.map((d) => d.destroy().catch(() => undefined)));
    // p-timeout rejects 0 with a TypeError: 0 is handled here, as "no wait".
    if (timeoutMs <= 0) {
      await destroy();
      return 'destroyed-at-once';
    }
    const graceful = Promise.all(dispatchers.map((d) => d.close().catch(() => undefined)));
    try {
      await pTimeout(graceful, { milliseconds: timeoutMs });
      return 'finished';
    } catch {
      await destroy();
      return 'destroyed-at-deadline';
    }
  }
}
