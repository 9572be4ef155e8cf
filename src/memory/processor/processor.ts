/**
 * Background memory processing. A finished turn is written to the outbox and queued; the voice
 * loop never waits. Turns are batched per caller (by count and by a short delay), extracted by
 * the LLM, compared with what is remembered (add / update / no-op), and each batch is written
 * with one `save_memories` call. Whatever cannot be stored now stays in the outbox for later.
 *
 * This file is the public face; the work is done by its parts: `TurnQueues` (turns waiting per
 * caller), `ExtractionLoop` (when they are extracted), `BatchExtraction` (one batch through the
 * LLM), `BatchWriter` (batches into the store) and `OutboxAdoption` (entries taken back from disk).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../lib/logger.js';
import type {
  MemoryInput,
  MemoryStore,
  SaveResult,
  StoredMemory,
} from '../../store/memory-store.js';
import type { ExtractionHealth } from '../extraction/extraction-triage.js';
import type { MemoryExtractor } from '../extraction/extractor.js';
import {
  DEFAULT_LEASE_TTL_MS,
  type Outbox,
  type PendingBatch,
  type Turn,
} from '../outbox/outbox.js';
import { BatchExtraction } from './batch-extraction.js';
import { BatchWriter } from './batch-writer.js';
import { ExtractionLoop } from './extraction-loop.js';
import { IdentityGate } from './identity-gate.js';
import { type MemoryStats, memoryStats } from './memory-stats.js';
import { OutboxAdoption } from './outbox-adoption.js';
import { type ProcessorContext, createProcessorContext } from './processor-context.js';
import { RetryTimer } from './retry-timer.js';
import type { SaveNowOutcome } from './save-now-outcome.js';
import { TurnQueues } from './turn-queues.js';

export interface MemoryProcessorOptions {
  store: MemoryStore;
  extractor: MemoryExtractor;
  outbox: Outbox;
  logger?: Logger;
  /** Turns per extraction call. */
  batchSize?: number;
  /** How long a partial batch waits for more turns. */
  batchDelayMs?: number;
  /** Turns held in memory; beyond it turns go to the outbox only and are picked up later. */
  maxQueuedTurns?: number;
  /**
   * Extracted batches held in memory for the store; beyond it no more turns are extracted until
   * the store takes some (the turns wait in their queue, then on disk).
   */
  maxPendingBatches?: number;
  /** Called after a batch is stored (e.g. to refresh the caller's greeting). */
  onStored?: (userId: string, result: SaveResult, items: readonly MemoryInput[]) => void;
  secrets?: readonly string[];
}

export interface DrainReport {
  drained: boolean;
  /** Entries left in the outbox for the next process. */
  left: number;
  elapsedMs: number;
}

/** Defined beside the counters it reports. */
export type { MemoryStats } from './memory-stats.js';

export class MemoryProcessor {
  readonly #ctx: ProcessorContext;
  readonly #queues = new TurnQueues();
  /** Outbox writes of enqueued turns not yet finished (`settled` waits for them). */
  readonly #writes = new Set<Promise<void>>();
  /** An identity the store cannot key is refused before an LLM call is spent on it. */
  readonly #identities: IdentityGate;
  readonly #storeRetry: RetryTimer;
  readonly #extractionRetry: RetryTimer;
  readonly #writer: BatchWriter;
  readonly #extraction: BatchExtraction;
  readonly #adoption: OutboxAdoption;
  readonly #loop: ExtractionLoop;
  #closed = false;
  /** After the first replay: looks for orphans again every lease TTL. */
  #orphanWatch: NodeJS.Timeout | undefined;

  /** @param options defaults apply per field: an `undefined` field keeps its default */
  constructor(options: MemoryProcessorOptions) {
    this.#ctx = createProcessorContext({
      store: options.store,
      extractor: options.extractor,
      outbox: options.outbox,
      logger: options.logger,
      onStored: options.onStored,
      batchSize: options.batchSize ?? 8,
      batchDelayMs: options.batchDelayMs ?? 1_500,
      maxQueuedTurns: options.maxQueuedTurns ?? 500,
      maxPendingBatches: options.maxPendingBatches ?? 100,
      secrets: options.secrets ?? [],
    });
    this.#identities = new IdentityGate(this.#ctx.settings.logger, this.#ctx.counters);
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
  }

  /** What is remembered about a caller already (loaded at session start): spares a round trip. */
  prime(userId: string, memories: readonly StoredMemory[]): void {
    this.#ctx.memories.prime(userId, memories);
  }

  /** Queues a finished turn and returns at once; the turn is durable once `settled()` resolves. */
  enqueue(input: { userId: string; userText: string; assistantText: string }): Turn | undefined {
    if (this.#closed) throw new Error('memory processor is closed');
    if (!this.#identities.admits(input.userId)) return undefined;
    const userText = input.userText.trim();
    if (userText === '') return undefined; // nothing the caller said, nothing to remember
    const turn: Turn = { id: randomUUID(), at: new Date().toISOString(), ...input, userText };
    const { outbox, maxQueuedTurns } = this.#ctx.settings;
    if (this.queuedTurns() >= maxQueuedTurns) {
      // Backpressure: keep it on disk only; it is replayed when the queue has room again.
      this.#adoption.spilled();
      this.#track(outbox.addTurn(turn, { claim: false }));
      return turn;
    }
    const waiting = this.#queues.push(turn);
    this.#track(outbox.addTurn(turn));
    this.#loop.turnQueued(turn.userId, waiting);
    return turn;
  }

  /**
   * "Remember that …": stored at once. If the store is down it stays in the outbox and is
   * retried later.
   * @param userId the caller
   * @param items the facts, validated
   * @returns what really happened: stored, pending (in the outbox), refused or forgotten
   * @throws when the outbox cannot be written (nothing is kept then)
   */
  async saveNow(userId: string, items: readonly MemoryInput[]): Promise<SaveNowOutcome> {
    if (!this.#identities.admits(userId)) return { status: 'refused', reason: 'identity' };
    const batch: PendingBatch = {
      id: randomUUID(),
      userId,
      turnIds: [],
      items: [...items],
      heardAt: new Date().toISOString(),
    };
    await this.#ctx.settings.outbox.addBatch(batch);
    this.#writer.add(batch);
    await this.#writer.store();
    return this.#writer.outcomeOf(batch) ?? { status: 'pending' };
  }

  /**
   * After the caller asked to forget (some keys, or everything): nothing queued here may bring
   * it back. Queued turns of a caller who is forgotten entirely are dropped.
   * @param userId the caller
   * @param keys the keys forgotten; none or empty = everything
   * @throws when the outbox files of the dropped turns cannot be removed
   */
  async forget(userId: string, keys?: readonly string[]): Promise<void> {
    // A fence: what was heard before now is not stored after it, extractions in flight included.
    this.#ctx.fence.record(userId, keys);
    const everything = !keys || keys.length === 0;
    const matches = (item: MemoryInput) => everything || keys.includes(item.key);
    this.#writer.forget(userId, matches);
    if (everything) {
      const dropped = this.#queues.remove(userId);
      await this.#ctx.settings.outbox.removeTurns(dropped.map((t) => t.id));
    }
    this.#ctx.memories.forget(userId, matches);
  }

  /** Resolves once every turn enqueued so far is on disk. */
  async settled(): Promise<void> {
    await Promise.all([...this.#writes]);
  }

  /** Processes everything queued now, and waits for it. */
  async flush(): Promise<void> {
    this.#loop.cancelScheduledFlush();
    await this.settled();
    if (this.#writer.pending > 0) await this.#writer.store();
    await this.#loop.processAllAndWait();
  }

  /**
   * On session end: process and store what is queued within the deadline. What is left stays in
   * the outbox, claimed by this process; once it exits, the next process replays it.
   * @param deadlineMs how long to keep processing
   * @returns whether everything was stored, and what is left in the outbox
   */
  async drain(deadlineMs: number): Promise<DrainReport> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), deadlineMs);
    });
    const outcome = await Promise.race([this.flush().then(() => 'done' as const), deadline]);
    clearTimeout(timer);
    this.#closed = true;
    clearInterval(this.#orphanWatch);
    this.#storeRetry.stop();
    this.#extractionRetry.stop();
    await this.settled();
    const { outbox, logger } = this.#ctx.settings;
    const counters = this.#ctx.counters;
    // What this process still holds is left too, on disk or not (a disk that is full).
    const held = this.queuedTurns() + this.#writer.pending;
    const left = Math.max(held, await outbox.claimed().catch(() => held));
    counters.outboxDepth = await outbox.depth().catch(() => counters.outboxDepth);
    const report = {
      drained: outcome === 'done' && left === 0,
      left,
      elapsedMs: Math.round(performance.now() - started),
    };
    logger?.info(report, 'memory processor drained');
    return report;
  }

  /**
   * Takes over what dead processes left in the outbox and processes it.
   * @returns the entries taken (0 when the outbox cannot be read; that is reported)
   */
  async replay(): Promise<number> {
    this.#watchForOrphans();
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

  /**
   * A process killed after this one started leaves claims whose lease runs out a TTL later, and
   * entries left on disk for want of room wait for a look: look again every lease TTL, in the
   * background, for as long as this process runs (its timer never keeps the process alive).
   */
  #watchForOrphans(): void {
    if (this.#orphanWatch || this.#closed) return;
    this.#orphanWatch = setInterval(() => {
      if (this.#closed) return;
      void this.#adoption
        .adoptOrphans()
        .then(async (entries) => {
          if (entries === 0) return;
          this.#ctx.settings.logger?.info(
            { entries },
            'adopting outbox entries left by another process',
          );
          await this.flush();
        })
        .catch((error: unknown) => this.#ctx.outboxFailed(error));
    }, DEFAULT_LEASE_TTL_MS);
    this.#orphanWatch.unref();
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

  /** The extraction service's health, for the pool's health view. */
  extractionHealth(): ExtractionHealth {
    return this.#extraction.health();
  }

  #track(write: Promise<void>): void {
    const tracked = write.then(
      () => this.#ctx.faults.recovered('outbox', 'memory outbox is writable again'),
      (error: unknown) => this.#ctx.outboxFailed(error),
    );
    this.#writes.add(tracked);
    void tracked.finally(() => this.#writes.delete(tracked));
  }
}
