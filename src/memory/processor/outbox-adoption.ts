/**
 * Takes over outbox entries no live process holds: those a dead process left, and the turns
 * this one spilled to disk when its queue was full. Backpressure holds on the way back in: no
 * more turns are taken than the queue has room for; the rest wait on disk.
 */
import type { BatchWriter } from './batch-writer.js';
import type { ProcessorContext } from './processor-context.js';
import type { TurnQueues } from './turn-queues.js';

export class OutboxAdoption {
  readonly #ctx: ProcessorContext;
  readonly #queues: TurnQueues;
  readonly #writer: BatchWriter;
  readonly #onAdopted: () => void;
  /** Turns may be waiting on disk (spilled, or left there when the queue had no room). */
  #spilledSinceReplay = false;

  /**
   * @param ctx the processor's shared parts
   * @param queues where adopted turns are queued
   * @param writer where adopted batches are queued
   * @param onAdopted called when spilled turns were taken back (their extraction is scheduled)
   */
  constructor(
    ctx: ProcessorContext,
    queues: TurnQueues,
    writer: BatchWriter,
    onAdopted: () => void,
  ) {
    this.#ctx = ctx;
    this.#queues = queues;
    this.#writer = writer;
    this.#onAdopted = onAdopted;
  }

  /** A turn went to disk only (the queue was full): it is taken back once there is room. */
  spilled(): void {
    this.#ctx.counters.spilled++;
    this.#spilledSinceReplay = true;
  }

  /** Takes back spilled turns once the queue is at most half full. */
  async replaySpilled(): Promise<void> {
    if (!this.#spilledSinceReplay || this.#queues.size > this.#ctx.settings.maxQueuedTurns / 2)
      return;
    this.#spilledSinceReplay = false;
    if ((await this.adoptOrphans()) > 0) this.#onAdopted();
  }

  /**
   * Claims what no live outbox holds and queues it here, no more turns than the queue has room
   * for and no more batches than may be held: the rest stays on disk and is taken later.
   * @returns the entries taken (turns and batches)
   * @throws when the outbox folder cannot be read
   */
  async adoptOrphans(): Promise<number> {
    const { maxQueuedTurns, maxPendingBatches, outbox } = this.#ctx.settings;
    const room = Math.max(0, maxQueuedTurns - this.#queues.size);
    const batchRoom = Math.max(0, maxPendingBatches - this.#writer.pending);
    const entries = await outbox.claimOrphans({ maxTurns: room, maxBatches: batchRoom });
    let turns = 0;
    let batches = 0;
    for (const entry of entries) {
      if (entry.kind === 'batch') {
        batches++;
        this.#writer.add(entry.batch);
        continue;
      }
      turns++;
      this.#queues.push(entry.turn);
    }
    // More may be waiting on disk: taken when the queue has room (or the next look comes).
    if (turns >= room || batches >= batchRoom) this.#spilledSinceReplay = true;
    return entries.length;
  }
}
