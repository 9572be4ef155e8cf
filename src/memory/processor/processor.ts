/**
 * Background memory processing. A finished turn is written to the outbox and queued; the voice
 * loop never waits. Turns are batched per caller (by count and by a short delay), extracted by
 * the LLM, compared with what is remembered (add / update / no-op), and each batch is written
 * with one `save_memories` call. Whatever cannot be stored now stays in the outbox for later.
 *
 * This file is the public face; the work is done by its parts: `TurnIntake` (turns coming in),
 * `TurnQueues` (turns waiting per caller), `ExtractionLoop` (when they are extracted),
 * `BatchExtraction` (one batch through the LLM), `BatchWriter` (batches into the store),
 * `CallerRequests` (remember now, forget), `OutboxAdoption` and `OrphanWatch` (entries taken
 * back from disk) and `drainWithin` (the end of a session).
 */
import type { MemoryInput, StoredMemory } from '../../store/memory-store.js';
import type { ExtractionHealth } from '../extraction/extraction-triage.js';
import type { Turn } from '../outbox/outbox.js';
import { BatchExtraction } from './batch-extraction.js';
import { BatchWriter } from './batch-writer.js';
import { CallerRequests } from './caller-requests.js';
import { ExtractionLoop } from './extraction-loop.js';
import { IdentityGate } from './identity-gate.js';
import { type MemoryStats, memoryStats } from './memory-stats.js';
import { OrphanWatch } from './orphan-watch.js';
import { OutboxAdoption } from './outbox-adoption.js';
import { type ProcessorContext, createProcessorContext } from './processor-context.js';
import { type DrainReport, drainWithin } from './processor-drain.js';
import { type MemoryProcessorOptions, settingsOf } from './processor-options.js';
import { RetryTimer } from './retry-timer.js';
import type { SaveNowOutcome } from './save-now-outcome.js';
import { type HeardTurn, TurnIntake } from './turn-intake.js';
import { TurnQueues } from './turn-queues.js';

/** Defined beside what they describe. */
export type { MemoryStats } from './memory-stats.js';
export type { DrainReport } from './processor-drain.js';
export type { MemoryProcessorOptions } from './processor-options.js';

export class MemoryProcessor {
  readonly #ctx: ProcessorContext;
  readonly #queues = new TurnQueues();
  readonly #storeRetry: RetryTimer;
  readonly #extractionRetry: RetryTimer;
  readonly #writer: BatchWriter;
  readonly #extraction: BatchExtraction;
  readonly #adoption: OutboxAdoption;
  readonly #loop: ExtractionLoop;
  readonly #intake: TurnIntake;
  readonly #requests: CallerRequests;
  readonly #orphanWatch: OrphanWatch;
  #closed = false;

  /** @param options defaults apply per field: an `undefined` field keeps its default */
  constructor(options: MemoryProcessorOptions) {
    this.#ctx = createProcessorContext(settingsOf(options));
    // An identity the store cannot key is refused before an LLM call is spent on it.
    const identities = new IdentityGate(this.#ctx.settings.logger, this.#ctx.counters);
    const failed = (error: unknown) =>
      this.#ctx.faults.report('background', 'memory retry failed', error);
    this.#storeRetry = new RetryTimer(() => this.#writer.store(), failed);
    this.#extractionRetry = new RetryTimer(() => this.#loop.processAll(), failed);
    // The parts call one another back through the loop, built last: the arrows run later.
    this.#writer = new BatchWriter(this.#ctx, this.#storeRetry, () => this.#loop.resumeHeldBack());
    this.#extraction = new BatchExtraction(this.#ctx, this.#writer, this.#extractionRetry, () =>
      this.settled(),
    );
    this.#adoption = new OutboxAdoption(this.#ctx, this.#queues, this.#writer, () =>
      this.#loop.scheduleFlush(),
    );
    this.#loop = new ExtractionLoop(this.#ctx, {
      queues: this.#queues,
      extraction: this.#extraction,
      writer: this.#writer,
      adoption: this.#adoption,
      retry: this.#extractionRetry,
    });
    const queues = this.#queues;
    this.#intake = new TurnIntake(this.#ctx, {
      identities,
      queues,
      adoption: this.#adoption,
      loop: this.#loop,
    });
    this.#requests = new CallerRequests(this.#ctx, { identities, queues, writer: this.#writer });
    this.#orphanWatch = new OrphanWatch(this.#ctx, this.#adoption, () => this.flush());
  }

  /**
   * What is remembered about a caller already (loaded at session start): spares a round trip.
   * @param userId the caller
   * @param memories what the store holds for the caller
   */
  prime(userId: string, memories: readonly StoredMemory[]): void {
    this.#ctx.memories.prime(userId, memories);
  }

  /**
   * Queues a finished turn and returns at once; the turn is durable once `settled()` resolves.
   * @param input the caller and what each side said
   * @returns the turn as queued, or undefined when there is nothing to keep (an identity the
   *   store cannot key, or nothing said by the caller)
   * @throws {@link Error} once the processor is drained (closed)
   */
  enqueue(input: HeardTurn): Turn | undefined {
    if (this.#closed) throw new Error('memory processor is closed');
    return this.#intake.take(input);
  }

  /**
   * "Remember that …": stored at once. If the store is down it stays in the outbox and is
   * retried later.
   * @param userId the caller
   * @param items the facts, validated
   * @returns what really happened: stored, pending (in the outbox), refused or forgotten
   * @throws the file system's error when the outbox cannot be written (nothing is kept then)
   */
  saveNow(userId: string, items: readonly MemoryInput[]): Promise<SaveNowOutcome> {
    return this.#requests.saveNow(userId, items);
  }

  /**
   * After the caller asked to forget (some keys, or everything): nothing queued here may bring
   * it back, extractions in flight included. Queued turns of a caller who is forgotten entirely
   * are dropped.
   * @param userId the caller
   * @param keys the keys forgotten; none or empty = everything
   * @throws the file system's error when the dropped turns' outbox files cannot be removed
   */
  forget(userId: string, keys?: readonly string[]): Promise<void> {
    return this.#requests.forget(userId, keys);
  }

  /** Resolves once every turn enqueued so far is on disk. */
  settled(): Promise<void> {
    return this.#intake.settled();
  }

  /** Processes everything queued now, and waits for it. Never rejects. */
  async flush(): Promise<void> {
    this.#loop.cancelScheduledFlush();
    await this.settled();
    if (this.#writer.pending > 0) await this.#writer.store();
    await this.#loop.processAllAndWait();
  }

  /**
   * On session end: process and store what is queued within the deadline, then close. What is
   * left stays in the outbox, claimed by this process; once it exits, the next process replays
   * it.
   * @param deadlineMs how long to keep processing, in ms (0: gives up on the next timer tick)
   * @returns whether everything was stored, and what is left in the outbox; never rejects
   */
  drain(deadlineMs: number): Promise<DrainReport> {
    return drainWithin(this.#ctx, deadlineMs, {
      flush: () => this.flush(),
      close: () => {
        this.#closed = true;
        this.#orphanWatch.stop();
        this.#storeRetry.stop();
        this.#extractionRetry.stop();
      },
      settled: () => this.settled(),
      held: () => this.queuedTurns() + this.#writer.pending,
    });
  }

  /**
   * Takes over what dead processes left in the outbox and processes it; from then on looks for
   * orphans again every lease TTL.
   * @returns the entries taken (0 when the outbox cannot be read; that is reported)
   */
  async replay(): Promise<number> {
    if (!this.#closed) this.#orphanWatch.start();
    let entries: number;
    try {
      entries = await this.#adoption.adoptOrphans();
    } catch (error) {
      this.#ctx.outboxFailed(error);
      return 0;
    }
    if (entries > 0) {
      this.#ctx.settings.logger?.info({ entries }, 'replaying memory outbox');
      await this.flush();
    }
    return entries;
  }

  /** @returns the turns waiting for extraction, across callers */
  queuedTurns(): number {
    return this.#queues.size;
  }

  /** @returns a snapshot of the counters, queues, retries and failures */
  stats(): MemoryStats {
    return memoryStats({
      counters: this.#ctx.counters,
      faults: this.#ctx.faults,
      extractor: this.#ctx.settings.extractor.counters,
      queued: this.queuedTurns(),
      pendingBatches: this.#writer.pending,
      knownCallers: this.#ctx.memories.size,
      extractionLatencyMs: this.#extraction.latencyMs(),
      retry: { store: this.#storeRetry.snapshot(), extraction: this.#extractionRetry.snapshot() },
      extraction: this.#extraction.health(),
    });
  }

  /** @returns the extraction service's health, for the pool's health view */
  extractionHealth(): ExtractionHealth {
    return this.#extraction.health();
  }
}
