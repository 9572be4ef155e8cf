/**
 * Writes extracted batches to the store in order, one writer at a time, each with one `save`
 * call. An outage leaves them (in memory and in the outbox) for the store's retry; a batch the
 * store refuses for good is set aside; a batch forgotten after it was heard is never stored.
 */
import { describeError } from '../../lib/redact.js';
import { type MemoryInput, MemoryStoreError, type SaveResult } from '../../store/memory-store.js';
import type { PendingBatch } from '../outbox/outbox.js';
import type { ProcessorContext } from './processor-context.js';
import type { RetryTimer } from './retry-timer.js';
import type { SaveNowOutcome } from './save-now-outcome.js';

export class BatchWriter {
  readonly #ctx: ProcessorContext;
  readonly #retry: RetryTimer;
  readonly #onStoreWorks: () => void;
  readonly #batches: PendingBatch[] = [];
  /** What became of each batch the store loop finished with (read by `saveNow`). */
  readonly #outcomes = new WeakMap<PendingBatch, SaveNowOutcome>();
  #storing: Promise<void> = Promise.resolve();
  #depthReading: Promise<void> | undefined;

  /**
   * @param ctx the processor's shared parts
   * @param retry the store's retry (it runs `store()`)
   * @param onStoreWorks called after each save the store answered (held-back work resumes)
   */
  constructor(ctx: ProcessorContext, retry: RetryTimer, onStoreWorks: () => void) {
    this.#ctx = ctx;
    this.#retry = retry;
    this.#onStoreWorks = onStoreWorks;
  }

  /** Batches waiting for the store. */
  get pending(): number {
    return this.#batches.length;
  }

  /** Queues a batch (already in the outbox, or kept in memory only) behind the others. */
  add(batch: PendingBatch): void {
    this.#batches.push(batch);
  }

  /** @returns what became of the batch, once the store loop is done with it */
  outcomeOf(batch: PendingBatch): SaveNowOutcome | undefined {
    return this.#outcomes.get(batch);
  }

  /** The caller forgot: the items `matches` picks leave the caller's waiting batches. */
  forget(userId: string, matches: (item: MemoryInput) => boolean): void {
    for (const batch of this.#batches.filter((b) => b.userId === userId)) {
      batch.items = batch.items.filter((i) => !matches(i));
    }
  }

  /**
   * Writes pending batches in order, one writer at a time; an outage leaves them for the store's
   * retry (`unlessBackingOff`: background work leaves them to it without a call). Never rejects.
   */
  store({ unlessBackingOff = false } = {}): Promise<void> {
    this.#storing = this.#storing
      .then(() => (unlessBackingOff && this.#retry.pending ? undefined : this.#storeLoop()))
      .catch((error: unknown) => {
        this.#ctx.faults.report('background', 'memory store loop failed; batches kept', error);
      });
    return this.#storing;
  }

  async #storeLoop(): Promise<void> {
    const { counters, fence } = this.#ctx;
    while (this.#batches.length > 0) {
      const batch = this.#batches[0]!;
      try {
        // Forgotten after it was heard (here, or in the store for any process): never stored.
        const items = fence.admit(batch.userId, heardAtOf(batch), batch.items);
        const result = items.length === 0 ? FENCED : await this.#countedSave(batch, items);
        this.#batches.shift();
        if (result !== FENCED) this.#storeWorks(); // only a real save says the store answers
        if (result.forgotten) {
          counters.fenced++;
          this.#outcomes.set(batch, { status: 'forgotten' });
          await this.#removeBatchFile(batch);
          continue;
        }
        // Stored: count it before the outbox file goes, so the figures never lag the store.
        counters.batchesStored++;
        counters.stored += result.inserted + result.updated;
        this.#outcomes.set(batch, { status: 'stored' });
        await this.#removeBatchFile(batch);
        // A forget that came while the save was in flight deleted these rows after they were
        // written: what this process holds (and tells listeners) must not bring them back.
        // The store refused some items this process did not fence (another process's forget):
        // which ones it does not say, so none of the batch reaches the call's recall or the cache.
        if (refusedSome(result, items)) continue;
        const current = fence.admit(batch.userId, heardAtOf(batch), items);
        this.#ctx.memories.remember(batch.userId, current);
        this.#notifyStored(batch.userId, result, current);
      } catch (error) {
        if (refusedForGood(error)) {
          await this.#setAside(batch, error);
          continue;
        }
        counters.storeRetries++;
        this.#ctx.faults.report(
          'store',
          'memory store unavailable; batches kept in the outbox, retrying with backoff',
          error,
          { pendingBatches: this.#batches.length },
        );
        this.#retry.schedule();
        return;
      } finally {
        this.#refreshOutboxDepth();
      }
    }
  }

  /**
   * The store refuses what this batch holds (e.g. an identity longer than it keys): retrying
   * cannot help, and it must not hold up every batch behind it.
   */
  async #setAside(batch: PendingBatch, error: unknown): Promise<void> {
    const { settings } = this.#ctx;
    this.#batches.shift();
    this.#outcomes.set(batch, { status: 'refused', reason: 'store-refused' });
    this.#ctx.counters.deadLettered += batch.turnIds.length || 1;
    const reason = describeError(error, settings.secrets);
    // One line per batch set aside (each is set aside once).
    settings.logger?.warn(
      { error: reason, turns: batch.turnIds.length },
      'memory store refused a batch; set aside in the dead-letter folder',
    );
    // If that fails the batch is still claimed: the next process sets it aside.
    await settings.outbox.deadLetterBatch(batch.id, reason).catch(this.#ctx.outboxFailed);
  }

  /**
   * The outbox's depth for stats: one folder read at a time, never awaited by the store's loop
   * ("remember that" waits on that loop, and an outage leaves thousands of files to list).
   */
  #refreshOutboxDepth(): void {
    if (this.#depthReading) return;
    this.#depthReading = this.#ctx.settings.outbox
      .depth()
      .then(
        (depth) => void (this.#ctx.counters.outboxDepth = depth),
        () => undefined, // a folder that cannot be read is the outbox's failure to report
      )
      .finally(() => (this.#depthReading = undefined));
  }

  #countedSave(batch: PendingBatch, items: readonly MemoryInput[]): Promise<SaveResult> {
    this.#ctx.counters.storeCalls++;
    return this.#ctx.settings.store.save(batch.userId, items, batch.id, new Date(heardAtOf(batch)));
  }

  #storeWorks(): void {
    this.#retry.succeeded();
    this.#ctx.faults.recovered('store', 'memory store is back');
    this.#onStoreWorks();
  }

  /** Stored: its file goes (if that fails, a replay finds it applied and changes nothing). */
  async #removeBatchFile(batch: PendingBatch): Promise<void> {
    await this.#ctx.settings.outbox.removeBatch(batch.id).catch(this.#ctx.outboxFailed);
  }

  /** A listener's failure (e.g. the greeting cache) is not the store's: never a retry. */
  #notifyStored(userId: string, result: SaveResult, items: readonly MemoryInput[]): void {
    try {
      this.#ctx.settings.onStored?.(userId, result, items);
    } catch (error) {
      this.#ctx.faults.report('background', 'memory onStored listener failed', error);
    }
  }
}

/** What a batch forgotten before it was stored counts as. */
const FENCED: SaveResult = {
  inserted: 0,
  updated: 0,
  unchanged: 0,
  replayed: false,
  forgotten: true,
};

/**
 * When a batch was heard, in ms. A batch without a readable time counts as heard at the epoch:
 * any forget then covers it (a forgotten fact must never come back; a lost fact is the lesser harm).
 */
function heardAtOf(batch: PendingBatch): number {
  const at = Date.parse(batch.heardAt);
  return Number.isFinite(at) ? at : 0;
}

/**
 * Every item the store took counts once as inserted, updated or unchanged; one a forget in the
 * store covers (a per-key fence this process never saw) counts in none of them.
 */
function refusedSome(result: SaveResult, items: readonly MemoryInput[]): boolean {
  return result.inserted + result.updated + result.unchanged < items.length;
}

/** Postgres data exceptions (22…) and integrity violations (23…) fail the same way every time. */
function refusedForGood(error: unknown): boolean {
  return error instanceof MemoryStoreError && /^2[23][0-9A-Z]{3}$/.test(error.code);
}
