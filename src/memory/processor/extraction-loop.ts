/**
 * When queued turns are extracted: a caller's queue is taken a batch at a time (on a full batch,
 * or after a short delay), one batch at a time per caller so a later fact always supersedes an
 * earlier one. Extraction holds back while too many batches wait for the store, and while the
 * LLM is failing its retry picks the queues up.
 */
import type { BatchExtraction } from './batch-extraction.js';
import type { BatchWriter } from './batch-writer.js';
import type { OutboxAdoption } from './outbox-adoption.js';
import type { ProcessorContext } from './processor-context.js';
import type { RetryTimer } from './retry-timer.js';
import type { TurnQueues } from './turn-queues.js';

/** The parts the loop drives. */
export interface ExtractionLoopParts {
  queues: TurnQueues;
  extraction: BatchExtraction;
  writer: BatchWriter;
  adoption: OutboxAdoption;
  /** The extraction's retry (it runs `processAll()`). */
  retry: RetryTimer;
}

export class ExtractionLoop {
  readonly #ctx: ProcessorContext;
  readonly #parts: ExtractionLoopParts;
  readonly #chains = new Map<string, Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  /** Turns were left unextracted because too many batches wait for the store. */
  #heldBack = false;
  /** Batches taken from a queue and not yet done with (each may become a pending batch). */
  #extracting = 0;

  /**
   * @param ctx the processor's shared parts
   * @param parts the queues it takes from and the parts that handle a batch
   */
  constructor(ctx: ProcessorContext, parts: ExtractionLoopParts) {
    this.#ctx = ctx;
    this.#parts = parts;
  }

  /**
   * A turn joined its caller's queue: a full batch is extracted now, a partial one after the
   * batch delay.
   * @param userId the caller
   * @param waiting how many turns the caller has queued now
   */
  turnQueued(userId: string, waiting: number): void {
    // While the LLM is failing, its retry picks the queues up: new turns do not call it sooner.
    if (waiting >= this.#ctx.settings.batchSize && !this.#parts.retry.pending)
      void this.#process(userId);
    else this.scheduleFlush();
  }

  /** Extracts every queue after the batch delay (once; later calls join the same timer). */
  scheduleFlush(): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#parts.retry.pending) void this.processAll();
    }, this.#ctx.settings.batchDelayMs);
    this.#timer.unref();
  }

  /** The scheduled flush is not needed: the caller processes the queues itself. */
  cancelScheduledFlush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Starts every caller's queue. Never rejects. */
  processAll(): Promise<void> {
    return Promise.all(this.#parts.queues.callers().map((userId) => this.#process(userId))).then(
      () => undefined,
    );
  }

  /** Processes every queue, and waits for all work per caller, started earlier included. */
  async processAllAndWait(): Promise<void> {
    await this.processAll();
    await Promise.all([...this.#chains.values()]);
  }

  /** Extraction held back while the store was behind resumes once there is room again. */
  resumeHeldBack(): void {
    if (!this.#heldBack) return;
    if (this.#parts.writer.pending + this.#extracting >= this.#ctx.settings.maxPendingBatches)
      return;
    this.#heldBack = false;
    this.scheduleFlush();
  }

  /**
   * One batch at a time per caller, so a later fact always supersedes an earlier one. Never
   * rejects: a failure is logged and counted, and the turns stay in the outbox.
   */
  #process(userId: string): Promise<void> {
    const previous = this.#chains.get(userId) ?? Promise.resolve();
    const next = previous
      .then(() => this.#processQueue(userId))
      .catch((error: unknown) => {
        this.#ctx.faults.report('background', 'memory processing failed; turns kept', error);
        this.#parts.retry.schedule();
      });
    this.#chains.set(userId, next);
    void next.finally(() => {
      if (this.#chains.get(userId) === next) this.#chains.delete(userId);
    });
    return next;
  }

  async #processQueue(userId: string): Promise<void> {
    const { queues, writer, extraction, retry } = this.#parts;
    const { batchSize, maxPendingBatches } = this.#ctx.settings;
    for (;;) {
      const queue = queues.of(userId);
      if (!queue || queue.length === 0) {
        queues.remove(userId);
        break;
      }
      // The store is behind: extract no more until it takes some (resumed as room appears).
      if (writer.pending + this.#extracting >= maxPendingBatches) {
        this.#heldBack = true;
        break;
      }
      const turns = queue.splice(0, batchSize);
      let ok = false;
      this.#extracting++;
      try {
        ok = await extraction.run(userId, turns);
      } finally {
        this.#extracting--;
        if (!ok) queue.unshift(...turns); // kept (they are in the outbox too) for the retry
        this.resumeHeldBack();
      }
      if (!ok) {
        retry.schedule();
        break;
      }
    }
    await this.#parts.adoption.replaySpilled();
  }
}
