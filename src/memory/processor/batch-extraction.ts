/**
 * One batch of a caller's turns through the LLM: turns heard before a forget are dropped, the
 * answer is bounded, facts already remembered are skipped, and the rest becomes a pending batch
 * for the writer. A failure is triaged: the service's fault keeps the turns for a retry, the
 * turns' own fault sets them aside.
 */
import { randomUUID } from 'node:crypto';
import { LatencyWindow, type Percentiles } from '../../lib/latency-window.js';
import type { MemoryInput, StoredMemory } from '../../store/memory-store.js';
import { boundAnswer } from '../extraction/answer-bounds.js';
import { type DropCounts, addDrops, countDrop, totalDrops } from '../extraction/dropped-items.js';
import { type ExtractionHealth, ExtractionTriage } from '../extraction/extraction-triage.js';
import type { PendingBatch, Turn } from '../outbox/outbox.js';
import type { BatchWriter } from './batch-writer.js';
import type { ProcessorContext } from './processor-context.js';
import type { RetryTimer } from './retry-timer.js';

export class BatchExtraction {
  readonly #ctx: ProcessorContext;
  readonly #writer: BatchWriter;
  readonly #retry: RetryTimer;
  readonly #settled: () => Promise<void>;
  readonly #triage = new ExtractionTriage();
  readonly #latency = new LatencyWindow();

  /**
   * @param ctx the processor's shared parts
   * @param writer where extracted batches go
   * @param retry the extraction's retry (a success resets it)
   * @param settled resolves once every turn enqueued so far is on disk
   */
  constructor(
    ctx: ProcessorContext,
    writer: BatchWriter,
    retry: RetryTimer,
    settled: () => Promise<void>,
  ) {
    this.#ctx = ctx;
    this.#writer = writer;
    this.#retry = retry;
    this.#settled = settled;
  }

  /** The extraction service: degraded, with the reason, while it fails. */
  health(): ExtractionHealth {
    return this.#triage.health();
  }

  latencyMs(): Percentiles {
    return this.#latency.percentiles();
  }

  /**
   * @param userId the caller
   * @param heard the caller's next turns, oldest first
   * @returns true when the turns are done with (extracted, or set aside), false to keep them
   *   queued for the extraction's retry
   */
  async run(userId: string, heard: Turn[]): Promise<boolean> {
    const { counters, settings } = this.#ctx;
    const turns = await this.#unforgotten(userId, heard);
    if (turns.length === 0) return true;
    counters.inFlight++;
    try {
      await this.#settled();
      const current = await this.#ctx.memories.of(userId);
      const started = performance.now();
      let items: MemoryInput[];
      try {
        const answer = await settings.extractor.extract(turns, current);
        const bounded = boundAnswer(answer.items, turns.length);
        this.#noteDrops(answer.dropped, bounded.overBound);
        items = bounded.kept;
        this.#latency.record(performance.now() - started);
        if (!answer.fromCache) this.#extractionWorks(turns);
      } catch (error) {
        return await this.#extractionFailed(turns, error);
      }
      this.#recordBatchSize(turns.length);
      counters.turnsProcessed += turns.length;
      const changed = items.filter((item) => !current.some((m) => sameFact(m, item)));
      const batch: PendingBatch = {
        id: randomUUID(),
        userId,
        turnIds: turns.map((t) => t.id),
        items: changed,
        heardAt: earliestTurn(turns),
      };
      if (changed.length === 0) {
        await settings.outbox.removeTurns(batch.turnIds).catch(this.#ctx.outboxFailed);
        return true;
      }
      // A disk that cannot take the batch must not lose it: it is stored from memory.
      await settings.outbox.addBatch(batch).catch(this.#ctx.outboxFailed);
      this.#writer.add(batch);
      await this.#writer.store({ unlessBackingOff: true });
      return true;
    } finally {
      counters.inFlight--;
    }
  }

  /** Turns heard before the caller forgot everything are dropped before an LLM call is spent. */
  async #unforgotten(userId: string, turns: Turn[]): Promise<Turn[]> {
    const { fence } = this.#ctx;
    const forgotten = turns.filter((t) => fence.coversEverything(userId, Date.parse(t.at)));
    if (forgotten.length === 0) return turns;
    this.#ctx.counters.fenced += forgotten.length;
    await this.#settled(); // their files may still be being written
    await this.#ctx.settings.outbox
      .removeTurns(forgotten.map((t) => t.id))
      .catch(this.#ctx.outboxFailed);
    return turns.filter((t) => !forgotten.includes(t));
  }

  /** One line per answer that lost items, with the count per reason (never the items). */
  #noteDrops(invalid: DropCounts, overBound: number): void {
    const dropped = { ...invalid };
    countDrop(dropped, 'over-bound', overBound);
    if (totalDrops(dropped) === 0) return;
    addDrops(this.#ctx.counters.droppedItems, dropped);
    this.#ctx.settings.logger?.warn({ dropped }, 'memory extraction dropped items from an answer');
  }

  #recordBatchSize(size: number): void {
    const c = this.#ctx.counters;
    c.lastBatch = size;
    c.maxBatch = Math.max(c.maxBatch, size);
    c.batchTurnTotal += size;
    c.batchCount++;
  }

  #extractionWorks(turns: readonly Turn[]): void {
    this.#triage.succeeded(turns.map((t) => t.id));
    this.#retry.succeeded();
    this.#ctx.faults.recovered('extraction', 'memory extraction is back');
  }

  /**
   * Keeps the turns for a retry when the service is at fault, or sets them aside when they are.
   * @returns true when the turns are done with (set aside), false to keep them queued
   */
  async #extractionFailed(turns: readonly Turn[], error: unknown): Promise<boolean> {
    const ids = turns.map((t) => t.id);
    // An unusable answer with no fresh word from the service: ask it about something harmless.
    if (this.#triage.needsEvidence(ids, error))
      this.#triage.probed(await this.#ctx.settings.extractor.probe());
    const triage = this.#triage.judge(ids, error);
    if (triage.action === 'retry') {
      this.#ctx.faults.report(
        'extraction',
        `memory extraction failing: ${triage.reason}; turns kept, retrying with backoff`,
        error,
      );
      return false;
    }
    this.#ctx.counters.deadLettered += turns.length;
    this.#ctx.settings.logger?.warn(
      { reason: triage.reason, turns: turns.length },
      'memory extraction gave up on a batch; set aside in the dead-letter folder',
    );
    await this.#ctx.settings.outbox
      .deadLetterTurns(ids, triage.reason)
      .catch(this.#ctx.outboxFailed);
    return true;
  }
}

/** When the earliest of these turns was heard (ISO). */
function earliestTurn(turns: readonly Turn[]): string {
  return turns.reduce((earliest, t) => (t.at < earliest ? t.at : earliest), turns[0]!.at);
}

function sameFact(memory: StoredMemory, item: MemoryInput): boolean {
  return (
    memory.category === item.category && memory.key === item.key && memory.value === item.value
  );
}
