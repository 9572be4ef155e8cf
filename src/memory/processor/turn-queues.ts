/** Turns waiting for extraction, one queue per caller, in the order they were heard. */
import type { Turn } from '../outbox/outbox.js';

export class TurnQueues {
  readonly #queues = new Map<string, Turn[]>();

  /** Turns waiting, across callers. */
  get size(): number {
    let n = 0;
    for (const q of this.#queues.values()) n += q.length;
    return n;
  }

  /** Callers with a queue. */
  callers(): string[] {
    return [...this.#queues.keys()];
  }

  /** @returns the caller's queue, taken from and put back into in place */
  of(userId: string): Turn[] | undefined {
    return this.#queues.get(userId);
  }

  /** @returns how many turns the caller has waiting now */
  push(turn: Turn): number {
    const queue = this.#queues.get(turn.userId) ?? [];
    queue.push(turn);
    this.#queues.set(turn.userId, queue);
    return queue.length;
  }

  /** @returns the turns the caller had waiting, no longer queued */
  remove(userId: string): Turn[] {
    const removed = this.#queues.get(userId) ?? [];
    this.#queues.delete(userId);
    return removed;
  }
}
