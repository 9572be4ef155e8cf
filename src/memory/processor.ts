/**
 * Background memory processing. A finished turn is written to the outbox and queued; the voice
 * loop never waits. Turns are batched per caller (by count and by a short delay), extracted by
 * the LLM, compared with what is remembered (add / update / no-op), and each batch is written
 * with one `save_memories` call. Whatever cannot be stored now stays in the outbox for later.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../pool/connection-pool.js';
import { LatencyWindow, type Percentiles } from '../pool/latency-window.js';
import { describeError } from '../redact.js';
import { boundAnswer } from './answer-bounds.js';
import { checkCallerIdentity, type IdentityProblem } from './caller-identity.js';
import { addDrops, countDrop, totalDrops, type DropCounts } from './dropped-items.js';
import { ExtractionError, type MemoryExtractor } from './extractor.js';
import { ForgetFence } from './forget-fence.js';
import type { Outbox, PendingBatch, Turn } from './outbox.js';
import type { SaveNowOutcome } from './save-now-outcome.js';
import {
  MemoryStoreError,
  type MemoryInput,
  type MemoryStore,
  type SaveResult,
  type StoredMemory,
} from './types.js';

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
  /** Wait before trying again after an outage of the LLM or the store. */
  retryDelayMs?: number;
  /** Called after a batch is stored (e.g. to refresh the caller's greeting). */
  onStored?: (userId: string, result: SaveResult, items: readonly MemoryInput[]) => void;
  secrets?: readonly string[];
}

export interface MemoryStats {
  queued: number;
  inFlight: number;
  /** Memories written (inserted or updated). */
  stored: number;
  turnsProcessed: number;
  batchesStored: number;
  storeCalls: number;
  failed: number;
  retried: number;
  droppedInvalid: number;
  /** Items of LLM answers not kept, per reason (invalid, or over the per-answer bound). */
  droppedItems: DropCounts;
  /** Batches, and turns before extraction, not stored because the caller forgot after they were heard. */
  fenced: number;
  /** Turns and facts refused for an identity the store cannot key. */
  refusedIdentities: number;
  deadLettered: number;
  spilled: number;
  outboxDepth: number;
  batchSizes: { last: number; max: number; average: number };
  extractionLatencyMs: Percentiles;
  lastError?: string;
}

export interface DrainReport {
  drained: boolean;
  /** Entries left in the outbox for the next process. */
  left: number;
  elapsedMs: number;
}

export class MemoryProcessor {
  readonly #o: Required<Omit<MemoryProcessorOptions, 'logger' | 'onStored'>> &
    Pick<MemoryProcessorOptions, 'logger' | 'onStored'>;
  readonly #queues = new Map<string, Turn[]>();
  readonly #batches: PendingBatch[] = [];
  readonly #writes = new Set<Promise<void>>();
  readonly #chains = new Map<string, Promise<void>>();
  readonly #current = new Map<string, StoredMemory[]>();
  readonly #extractionLatency = new LatencyWindow();
  readonly #fence = new ForgetFence();
  /** What became of each batch the store loop finished with (read by `saveNow`). */
  readonly #outcomes = new WeakMap<PendingBatch, SaveNowOutcome>();
  readonly #identityProblemsLogged = new Set<IdentityProblem>();
  #timer?: NodeJS.Timeout;
  #retryTimer?: NodeJS.Timeout;
  #storing: Promise<void> = Promise.resolve();
  #spilledSinceReplay = false;
  #closed = false;
  #stats = {
    stored: 0,
    turnsProcessed: 0,
    batchesStored: 0,
    storeCalls: 0,
    failed: 0,
    storeRetries: 0,
    deadLettered: 0,
    fenced: 0,
    refusedIdentities: 0,
    droppedItems: {} as DropCounts,
    spilled: 0,
    inFlight: 0,
    outboxDepth: 0,
    lastBatch: 0,
    maxBatch: 0,
    batchTurnTotal: 0,
    batchCount: 0,
    lastError: undefined as string | undefined,
  };

  constructor(options: MemoryProcessorOptions) {
    this.#o = {
      batchSize: 8,
      batchDelayMs: 1_500,
      maxQueuedTurns: 500,
      retryDelayMs: 5_000,
      secrets: [],
      ...options,
    };
  }

  /** What is remembered about a caller already (loaded at session start): spares a round trip. */
  prime(userId: string, memories: readonly StoredMemory[]): void {
    this.#current.set(userId, [...memories]);
  }

  /** Queues a finished turn and returns at once; the turn is durable once `settled()` resolves. */
  enqueue(input: { userId: string; userText: string; assistantText: string }): Turn | undefined {
    if (this.#closed) throw new Error('memory processor is closed');
    if (!this.#usableIdentity(input.userId)) return undefined;
    const userText = input.userText.trim();
    if (userText === '') return undefined; // nothing the caller said, nothing to remember
    const turn: Turn = { id: randomUUID(), at: new Date().toISOString(), ...input, userText };
    const queued = this.queuedTurns();
    if (queued >= this.#o.maxQueuedTurns) {
      // Backpressure: keep it on disk only; it is replayed when the queue has room again.
      this.#stats.spilled++;
      this.#spilledSinceReplay = true;
      this.#track(this.#o.outbox.addTurn(turn, { claim: false }));
      return turn;
    }
    const queue = this.#queues.get(turn.userId) ?? [];
    queue.push(turn);
    this.#queues.set(turn.userId, queue);
    this.#track(this.#o.outbox.addTurn(turn));
    if (queue.length >= this.#o.batchSize) this.#process(turn.userId);
    else this.#scheduleFlush();
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
    if (!this.#usableIdentity(userId)) return { status: 'refused', reason: 'identity' };
    const batch: PendingBatch = {
      id: randomUUID(),
      userId,
      turnIds: [],
      items: [...items],
      heardAt: new Date().toISOString(),
    };
    await this.#o.outbox.addBatch(batch);
    this.#batches.push(batch);
    await this.#storeBatches();
    return this.#outcomes.get(batch) ?? { status: 'pending' };
  }

  /**
   * After the caller asked to forget (some keys, or everything): nothing queued here may bring
   * it back. Queued turns of a caller who is forgotten entirely are dropped.
   */
  async forget(userId: string, keys?: readonly string[]): Promise<void> {
    // A fence: what was heard before now is not stored after it, extractions in flight included.
    this.#fence.record(userId, keys);
    const everything = !keys || keys.length === 0;
    const matches = (item: MemoryInput) => everything || keys.includes(item.key);
    for (const batch of this.#batches.filter((b) => b.userId === userId)) {
      batch.items = batch.items.filter((i) => !matches(i));
    }
    if (everything) {
      const dropped = this.#queues.get(userId) ?? [];
      this.#queues.delete(userId);
      await this.#o.outbox.removeTurns(dropped.map((t) => t.id));
      this.#current.set(userId, []);
    } else {
      this.#current.set(
        userId,
        (this.#current.get(userId) ?? []).filter((m) => !matches(m)),
      );
    }
  }

  /** Resolves once every turn enqueued so far is on disk. */
  async settled(): Promise<void> {
    await Promise.all([...this.#writes]);
  }

  /** Processes everything queued now, and waits for it. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.settled();
    if (this.#batches.length > 0) await this.#storeBatches();
    await Promise.all([...this.#queues.keys()].map((userId) => this.#process(userId)));
    await Promise.all([...this.#chains.values()]);
  }

  /**
   * On session end: process and store what is queued within the deadline. What is left stays in
   * the outbox, claimed by this process; once it exits, the next process replays it.
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
    clearTimeout(this.#retryTimer);
    await this.settled();
    const left = await this.#o.outbox.claimed();
    this.#stats.outboxDepth = await this.#o.outbox.depth();
    const report = {
      drained: outcome === 'done' && left === 0,
      left,
      elapsedMs: Math.round(performance.now() - started),
    };
    this.#o.logger?.info(report, 'memory processor drained');
    return report;
  }

  /** Takes over what dead processes left in the outbox and processes it. Returns entries taken. */
  async replay(): Promise<number> {
    const entries = await this.#adoptOrphans();
    if (entries > 0) {
      this.#o.logger?.info({ entries }, 'replaying memory outbox');
      await this.flush();
    }
    return entries;
  }

  queuedTurns(): number {
    let n = 0;
    for (const q of this.#queues.values()) n += q.length;
    return n;
  }

  stats(): MemoryStats {
    const s = this.#stats;
    const extractor = this.#o.extractor.counters;
    return {
      queued: this.queuedTurns(),
      inFlight: s.inFlight,
      stored: s.stored,
      turnsProcessed: s.turnsProcessed,
      batchesStored: s.batchesStored,
      storeCalls: s.storeCalls,
      failed: s.failed,
      retried: extractor.retried + s.storeRetries,
      droppedInvalid: extractor.droppedInvalid,
      droppedItems: { ...s.droppedItems },
      fenced: s.fenced,
      refusedIdentities: s.refusedIdentities,
      deadLettered: s.deadLettered,
      spilled: s.spilled,
      outboxDepth: s.outboxDepth,
      batchSizes: {
        last: s.lastBatch,
        max: s.maxBatch,
        average: s.batchCount === 0 ? 0 : Math.round((s.batchTurnTotal / s.batchCount) * 10) / 10,
      },
      extractionLatencyMs: this.#extractionLatency.percentiles(),
      lastError: s.lastError,
    };
  }

  #track(write: Promise<void>): void {
    const tracked = write.catch((error: unknown) => {
      this.#fail('could not write the memory outbox', error);
    });
    this.#writes.add(tracked);
    void tracked.finally(() => this.#writes.delete(tracked));
  }

  #scheduleFlush(): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      for (const userId of this.#queues.keys()) this.#process(userId);
    }, this.#o.batchDelayMs);
    this.#timer.unref();
  }

  /** One batch at a time per caller, so a later fact always supersedes an earlier one. */
  #process(userId: string): Promise<void> {
    const previous = this.#chains.get(userId) ?? Promise.resolve();
    const next = previous.then(() => this.#processQueue(userId));
    this.#chains.set(userId, next);
    void next.finally(() => {
      if (this.#chains.get(userId) === next) this.#chains.delete(userId);
    });
    return next;
  }

  async #processQueue(userId: string): Promise<void> {
    for (;;) {
      const queue = this.#queues.get(userId);
      if (!queue || queue.length === 0) {
        this.#queues.delete(userId);
        break;
      }
      const turns = queue.splice(0, this.#o.batchSize);
      const ok = await this.#processTurns(userId, turns);
      if (!ok) {
        // The LLM is out of reach: keep the turns (they are in the outbox) and try again later.
        queue.unshift(...turns);
        this.#scheduleRetry();
        break;
      }
    }
    await this.#replaySpilled();
  }

  async #processTurns(userId: string, heard: Turn[]): Promise<boolean> {
    const turns = await this.#unforgotten(userId, heard);
    if (turns.length === 0) return true;
    this.#stats.inFlight++;
    try {
      await this.settled();
      const current = await this.#currentMemories(userId);
      const started = performance.now();
      let items: MemoryInput[];
      try {
        const answer = await this.#o.extractor.extract(turns, current);
        const bounded = boundAnswer(answer.items, turns.length);
        this.#noteDrops(answer.dropped, bounded.overBound);
        items = bounded.kept;
        this.#extractionLatency.record(performance.now() - started);
      } catch (error) {
        if (error instanceof ExtractionError && error.reason !== 'unavailable') {
          // It will not get better by waiting: kept aside, not lost, and not retried forever.
          this.#stats.deadLettered += turns.length;
          await this.#o.outbox.deadLetterTurns(
            turns.map((t) => t.id),
            error.message,
          );
          this.#fail('memory extraction gave up on a batch', error);
          return true;
        }
        this.#fail('memory extraction failed; will retry', error);
        return false;
      }
      this.#recordBatchSize(turns.length);
      this.#stats.turnsProcessed += turns.length;
      const changed = items.filter((item) => !current.some((m) => sameFact(m, item)));
      const batch: PendingBatch = {
        id: randomUUID(),
        userId,
        turnIds: turns.map((t) => t.id),
        items: changed,
        heardAt: earliestTurn(turns),
      };
      if (changed.length === 0) {
        await this.#o.outbox.removeTurns(batch.turnIds);
        return true;
      }
      await this.#o.outbox.addBatch(batch);
      this.#batches.push(batch);
      await this.#storeBatches();
      return true;
    } finally {
      this.#stats.inFlight--;
    }
  }

  /** Writes pending batches in order, one writer at a time; an outage leaves them for the retry timer. */
  #storeBatches(): Promise<void> {
    this.#storing = this.#storing.then(() => this.#storeLoop());
    return this.#storing;
  }

  async #storeLoop(): Promise<void> {
    while (this.#batches.length > 0) {
      const batch = this.#batches[0]!;
      try {
        // Forgotten after it was heard (here, or in the store for any process): never stored.
        const items = this.#fence.admit(batch.userId, heardAtOf(batch), batch.items);
        const result = items.length === 0 ? FENCED : await this.#countedSave(batch, items);
        this.#batches.shift();
        if (result.forgotten) {
          this.#stats.fenced++;
          this.#outcomes.set(batch, { status: 'forgotten' });
          await this.#o.outbox.removeBatch(batch.id);
          continue;
        }
        // Stored: count it before the outbox file goes, so the figures never lag the store.
        this.#stats.batchesStored++;
        this.#stats.stored += result.inserted + result.updated;
        this.#outcomes.set(batch, { status: 'stored' });
        await this.#o.outbox.removeBatch(batch.id);
        this.#remember(batch.userId, items);
        this.#o.onStored?.(batch.userId, result, items);
      } catch (error) {
        if (refusedForGood(error)) {
          // The store refuses what this batch holds (e.g. an identity longer than it keys):
          // retrying cannot help, and it must not hold up every batch behind it.
          this.#batches.shift();
          this.#outcomes.set(batch, { status: 'refused', reason: 'store-refused' });
          this.#stats.deadLettered += batch.turnIds.length || 1;
          await this.#o.outbox
            .deadLetterBatch(batch.id, describeError(error, this.#o.secrets))
            .catch(() => undefined); // still claimed: the next process sets it aside
          this.#fail('memory store refused a batch; set aside in the dead-letter folder', error);
          continue;
        }
        this.#stats.storeRetries++;
        this.#fail('memory store unavailable; batch kept in the outbox', error);
        this.#scheduleRetry();
        return;
      } finally {
        this.#stats.outboxDepth = await this.#o.outbox.depth().catch(() => this.#stats.outboxDepth);
      }
    }
  }

  #countedSave(batch: PendingBatch, items: readonly MemoryInput[]): Promise<SaveResult> {
    this.#stats.storeCalls++;
    return this.#o.store.save(batch.userId, items, batch.id, new Date(heardAtOf(batch)));
  }

  /** Turns heard before the caller forgot everything are dropped before an LLM call is spent. */
  async #unforgotten(userId: string, turns: Turn[]): Promise<Turn[]> {
    const forgotten = turns.filter((t) => this.#fence.coversEverything(userId, Date.parse(t.at)));
    if (forgotten.length === 0) return turns;
    this.#stats.fenced += forgotten.length;
    await this.settled(); // their files may still be being written
    await this.#o.outbox
      .removeTurns(forgotten.map((t) => t.id))
      .catch((e: unknown) => this.#fail('could not write the memory outbox', e));
    return turns.filter((t) => !forgotten.includes(t));
  }

  /** An identity the store cannot key is refused here, before an LLM call is spent on it. */
  #usableIdentity(userId: string): boolean {
    const check = checkCallerIdentity(userId);
    if (check.ok) return true;
    this.#stats.refusedIdentities++;
    if (!this.#identityProblemsLogged.has(check.problem)) {
      this.#identityProblemsLogged.add(check.problem);
      this.#o.logger?.warn(
        { problem: check.problem, identityLength: check.length },
        'memory refuses a caller identity the store cannot key',
      );
    }
    return false;
  }

  /** One line per answer that lost items, with the count per reason (never the items). */
  #noteDrops(invalid: DropCounts, overBound: number): void {
    const dropped = { ...invalid };
    countDrop(dropped, 'over-bound', overBound);
    if (totalDrops(dropped) === 0) return;
    addDrops(this.#stats.droppedItems, dropped);
    this.#o.logger?.warn({ dropped }, 'memory extraction dropped items from an answer');
  }

  async #currentMemories(userId: string): Promise<StoredMemory[]> {
    const known = this.#current.get(userId);
    if (known) return known;
    try {
      const loaded = await this.#o.store.load(userId);
      this.#current.set(userId, loaded);
      return loaded;
    } catch {
      return []; // extraction still works; the store decides supersede on save
    }
  }

  #remember(userId: string, items: readonly MemoryInput[]): void {
    const now = new Date();
    const current = (this.#current.get(userId) ?? []).filter(
      (m) => !items.some((i) => i.category === m.category && i.key === m.key),
    );
    current.unshift(...items.map((i) => ({ ...i, createdAt: now, updatedAt: now })));
    this.#current.set(userId, current);
  }

  #scheduleRetry(): void {
    if (this.#retryTimer || this.#closed) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      void this.flush().catch((error: unknown) => this.#fail('memory retry failed', error));
    }, this.#o.retryDelayMs);
    this.#retryTimer.unref();
  }

  async #replaySpilled(): Promise<void> {
    if (!this.#spilledSinceReplay || this.queuedTurns() > this.#o.maxQueuedTurns / 2) return;
    this.#spilledSinceReplay = false;
    if ((await this.#adoptOrphans()) > 0) this.#scheduleFlush();
  }

  /**
   * Claims what no live outbox holds and queues it here, no more turns than the queue has room
   * for: the rest stays on disk and is taken as the queue drains (backpressure holds on replay).
   */
  async #adoptOrphans(): Promise<number> {
    const room = Math.max(0, this.#o.maxQueuedTurns - this.queuedTurns());
    const entries = await this.#o.outbox.claimOrphans(undefined, { maxTurns: room });
    let turns = 0;
    for (const entry of entries) {
      if (entry.kind === 'batch') {
        this.#batches.push(entry.batch);
        continue;
      }
      turns++;
      const queue = this.#queues.get(entry.turn.userId) ?? [];
      queue.push(entry.turn);
      this.#queues.set(entry.turn.userId, queue);
    }
    if (turns >= room) this.#spilledSinceReplay = true; // more may be waiting on disk
    return entries.length;
  }

  #recordBatchSize(size: number): void {
    const s = this.#stats;
    s.lastBatch = size;
    s.maxBatch = Math.max(s.maxBatch, size);
    s.batchTurnTotal += size;
    s.batchCount++;
  }

  #fail(message: string, error: unknown): void {
    this.#stats.failed++;
    this.#stats.lastError = describeError(error, this.#o.secrets);
    this.#o.logger?.warn({ error: this.#stats.lastError }, message);
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

/** When the earliest of these turns was heard (ISO). */
function earliestTurn(turns: readonly Turn[]): string {
  return turns.reduce((earliest, t) => (t.at < earliest ? t.at : earliest), turns[0]!.at);
}

/**
 * When a batch was heard, in ms. A batch without a readable time counts as heard at the epoch:
 * any forget then covers it (a forgotten fact must never come back; a lost fact is the lesser harm).
 */
function heardAtOf(batch: PendingBatch): number {
  const at = Date.parse(batch.heardAt);
  return Number.isFinite(at) ? at : 0;
}

/** Postgres data exceptions (22…) and integrity violations (23…) fail the same way every time. */
function refusedForGood(error: unknown): boolean {
  return error instanceof MemoryStoreError && /^2[23][0-9A-Z]{3}$/.test(error.code);
}

function sameFact(memory: StoredMemory, item: MemoryInput): boolean {
  return (
    memory.category === item.category && memory.key === item.key && memory.value === item.value
  );
}
