/**
 * What a caller asks of memory during a call, answered at once rather than in the background:
 * "remember that …" (stored now, or kept in the outbox and said so) and "forget …" (a fence:
 * nothing heard before it is stored after it).
 */
import { randomUUID } from 'node:crypto';
import type { MemoryInput } from '../../store/memory-store.js';
import type { PendingBatch } from '../outbox/outbox.js';
import type { BatchWriter } from './batch-writer.js';
import type { IdentityGate } from './identity-gate.js';
import type { ProcessorContext } from './processor-context.js';
import type { SaveNowOutcome } from './save-now-outcome.js';
import type { TurnQueues } from './turn-queues.js';

/** The parts a caller's request reaches. */
export interface CallerRequestParts {
  identities: IdentityGate;
  queues: TurnQueues;
  writer: BatchWriter;
}

export class CallerRequests {
  readonly #ctx: ProcessorContext;
  readonly #parts: CallerRequestParts;

  /**
   * @param ctx the processor's shared parts
   * @param parts the identity check, the turn queues and the batch writer
   */
  constructor(ctx: ProcessorContext, parts: CallerRequestParts) {
    this.#ctx = ctx;
    this.#parts = parts;
  }

  /**
   * @param userId the caller
   * @param items the facts, validated
   * @returns what really happened: stored, pending (in the outbox), refused or forgotten
   * @throws the file system's error when the outbox cannot be written (nothing is kept then)
   */
  async saveNow(userId: string, items: readonly MemoryInput[]): Promise<SaveNowOutcome> {
    const { identities, writer } = this.#parts;
    if (!identities.admits(userId)) return { status: 'refused', reason: 'identity' };
    const batch: PendingBatch = {
      id: randomUUID(),
      userId,
      turnIds: [],
      items: [...items],
      heardAt: new Date().toISOString(),
    };
    await this.#ctx.settings.outbox.addBatch(batch);
    writer.add(batch);
    await writer.store();
    return writer.outcomeOf(batch) ?? { status: 'pending' };
  }

  /**
   * @param userId the caller
   * @param keys the keys forgotten; none or empty = everything (the caller's queued turns go)
   * @throws the file system's error when the dropped turns' outbox files cannot be removed
   */
  async forget(userId: string, keys?: readonly string[]): Promise<void> {
    // A fence: what was heard before now is not stored after it, extractions in flight included.
    this.#ctx.fence.record(userId, keys);
    const everything = !keys || keys.length === 0;
    try {
      this.#ctx.settings.onForgotten?.(userId, everything ? undefined : keys);
    } catch (error) {
      this.#ctx.faults.report('background', 'memory onForgotten listener failed', error);
    }
    const matches = (item: MemoryInput) => everything || keys.includes(item.key);
    this.#parts.writer.forget(userId, matches);
    if (everything) {
      const dropped = this.#parts.queues.remove(userId);
      await this.#ctx.settings.outbox.removeTurns(dropped.map((t) => t.id));
    }
    this.#ctx.memories.forget(userId, matches);
  }
}
