/**
 * Background memory processing. A finished turn is written to the outbox and queued; the voice
 * loop never waits. Turns are batched per caller (by count and by a short delay), extracted by
 * the LLM, compared with what is remembered (add / update / no-op), and each batch is written
 * with one `save_memories` call. Whatever cannot be stored now stays in the outbox for later.
 */
import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Logger } from '../pool/connection-pool.js';
import { LatencyWindow, type Percentiles } from '../pool/latency-window.js';
import { describeError } from '../redact.js';
import { boundAnswer } from './answer-bounds.js';
import { checkCallerIdentity, type IdentityProblem } from './caller-identity.js';
import { addDrops, countDrop, totalDrops, type DropCounts } from './dropped-items.js';
import { ExtractionTriage, type ExtractionHealth } from './extraction-triage.js';
import type { MemoryExtractor } from './extractor.js';
import { FaultLog, type FaultKind, type FaultRun } from './fault-log.js';
import { ForgetFence } from './forget-fence.js';
import type { Outbox, PendingBatch, Turn } from './outbox.js';
import { RetryTimer, type RetrySnapshot } from './retry-timer.js';
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
  /**
   * Extracted batches held in memory for the store; beyond it no more turns are extracted until
   * the store takes some (the turns wait in their queue, then on disk).
   */
  maxPendingBatches?: number;
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
  /** Batches extracted and waiting for the store. */
  pendingBatches: number;
  /** Callers whose current memories are kept in process memory (bounded). */
  knownCallers: number;
  /** Failures per kind (store, extraction, outbox, background) since the process started. */
  failures: Record<FaultKind, number>;
  /** What is failing now: since when, how many failures, the last error. */
  failing: Partial<Record<FaultKind, FaultRun>>;
  /** The retry waiting for each service: attempts since its last success, when it runs next. */
  retry: { store: RetrySnapshot; extraction: RetrySnapshot };
  /** The extraction service: degraded, with the reason, while it fails. */
  extraction: ExtractionHealth;
  lastError?: string;
}

export interface DrainReport {
  drained: boolean;
  /** Entries left in the outbox for the next process. */
  left: number;
  elapsedMs: number;
}

export class MemoryProcessor {
  readonly #o: Required<Omit<MemoryProcessorOptions, 'logger' | 'onStored'>> & {
    logger: Logger | undefined;
    onStored: MemoryProcessorOptions['onStored'] | undefined;
  };
  readonly #queues = new Map<string, Turn[]>();
  readonly #batches: PendingBatch[] = [];
  readonly #writes = new Set<Promise<void>>();
  readonly #chains = new Map<string, Promise<void>>();
  /** What is remembered per caller, to skip unchanged facts: bounded, and refreshed now and then. */
  readonly #current = new LRUCache<string, StoredMemory[]>({ max: 1_000, ttl: 30 * 60_000 });
  readonly #extractionLatency = new LatencyWindow();
  readonly #fence = new ForgetFence();
  /** What became of each batch the store loop finished with (read by `saveNow`). */
  readonly #outcomes = new WeakMap<PendingBatch, SaveNowOutcome>();
  readonly #identityProblemsLogged = new Set<IdentityProblem>();
  readonly #faults: FaultLog;
  readonly #triage = new ExtractionTriage();
  readonly #storeRetry: RetryTimer;
  readonly #extractionRetry: RetryTimer;
  #timer: NodeJS.Timeout | undefined;
  #storing: Promise<void> = Promise.resolve();
  #depthReading: Promise<void> | undefined;
  #spilledSinceReplay = false;
  /** Turns were left unextracted because too many batches wait for the store. */
  #heldBack = false;
  /** Batches taken from a queue and not yet done with (each may become a pending batch). */
  #extracting = 0;
  #closed = false;
  #stats = {
    stored: 0,
    turnsProcessed: 0,
    batchesStored: 0,
    storeCalls: 0,
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
  };

  /** @param options defaults apply per field: an `undefined` field keeps its default */
  constructor(options: MemoryProcessorOptions) {
    this.#o = {
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
    };
    this.#faults = new FaultLog(this.#o.logger, this.#o.secrets);
    const failed = (error: unknown) =>
      this.#faults.report('background', 'memory retry failed', error);
    this.#storeRetry = new RetryTimer(() => this.#storeBatches(), failed);
    this.#extractionRetry = new RetryTimer(() => this.#processAll(), failed);
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
    // While the LLM is failing, its retry picks the queues up: new turns do not call it sooner.
    if (queue.length >= this.#o.batchSize && !this.#extractionRetry.pending)
      void this.#process(turn.userId);
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
    this.#storeRetry.stop();
    this.#extractionRetry.stop();
    await this.settled();
    // What this process still holds is left too, on disk or not (a disk that is full).
    const held = this.queuedTurns() + this.#batches.length;
    const left = Math.max(held, await this.#o.outbox.claimed().catch(() => held));
    this.#stats.outboxDepth = await this.#o.outbox.depth().catch(() => this.#stats.outboxDepth);
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
    let entries: number;
    try {
      entries = await this.#adoptOrphans();
    } catch (error) {
      this.#outboxFailed(error);
      return 0;
    }
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
    const lastError = this.#faults.lastError;
    return {
      queued: this.queuedTurns(),
      inFlight: s.inFlight,
      stored: s.stored,
      turnsProcessed: s.turnsProcessed,
      batchesStored: s.batchesStored,
      storeCalls: s.storeCalls,
      failed: this.#faults.total,
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
      pendingBatches: this.#batches.length,
      knownCallers: this.#current.size,
      failures: this.#faults.counts(),
      failing: this.#faults.active(),
      retry: { store: this.#storeRetry.snapshot(), extraction: this.#extractionRetry.snapshot() },
      extraction: this.#triage.health(),
      ...(lastError === undefined ? {} : { lastError }),
    };
  }

  /** The extraction service's health, for the pool's health view. */
  extractionHealth(): ExtractionHealth {
    return this.#triage.health();
  }

  #track(write: Promise<void>): void {
    const tracked = write.then(
      () => this.#faults.recovered('outbox', 'memory outbox is writable again'),
      (error: unknown) => this.#outboxFailed(error),
    );
    this.#writes.add(tracked);
    void tracked.finally(() => this.#writes.delete(tracked));
  }

  #scheduleFlush(): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#extractionRetry.pending) void this.#processAll();
    }, this.#o.batchDelayMs);
    this.#timer.unref();
  }

  #processAll(): Promise<void> {
    return Promise.all([...this.#queues.keys()].map((userId) => this.#process(userId))).then(
      () => undefined,
    );
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
        this.#faults.report('background', 'memory processing failed; turns kept', error);
        this.#extractionRetry.schedule();
      });
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
      // The store is behind: extract no more until it takes some (resumed as room appears).
      if (this.#batches.length + this.#extracting >= this.#o.maxPendingBatches) {
        this.#heldBack = true;
        break;
      }
      const turns = queue.splice(0, this.#o.batchSize);
      let ok = false;
      this.#extracting++;
      try {
        ok = await this.#processTurns(userId, turns);
      } finally {
        this.#extracting--;
        if (!ok) queue.unshift(...turns); // kept (they are in the outbox too) for the retry
        this.#resumeHeldBack();
      }
      if (!ok) {
        this.#extractionRetry.schedule();
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
        if (!answer.fromCache) this.#extractionWorks(turns);
      } catch (error) {
        return await this.#extractionFailed(turns, error);
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
        await this.#o.outbox
          .removeTurns(batch.turnIds)
          .catch((e: unknown) => this.#outboxFailed(e));
        return true;
      }
      // A disk that cannot take the batch must not lose it: it is stored from memory.
      await this.#o.outbox.addBatch(batch).catch((e: unknown) => this.#outboxFailed(e));
      this.#batches.push(batch);
      await this.#storeBatches({ unlessBackingOff: true });
      return true;
    } finally {
      this.#stats.inFlight--;
    }
  }

  /**
   * Writes pending batches in order, one writer at a time; an outage leaves them for the store's
   * retry (`unlessBackingOff`: background work leaves them to it without a call). Never rejects.
   */
  #storeBatches({ unlessBackingOff = false } = {}): Promise<void> {
    this.#storing = this.#storing
      .then(() => (unlessBackingOff && this.#storeRetry.pending ? undefined : this.#storeLoop()))
      .catch((error: unknown) => {
        this.#faults.report('background', 'memory store loop failed; batches kept', error);
      });
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
        if (result !== FENCED) this.#storeWorks(); // only a real save says the store answers
        if (result.forgotten) {
          this.#stats.fenced++;
          this.#outcomes.set(batch, { status: 'forgotten' });
          await this.#removeBatchFile(batch);
          continue;
        }
        // Stored: count it before the outbox file goes, so the figures never lag the store.
        this.#stats.batchesStored++;
        this.#stats.stored += result.inserted + result.updated;
        this.#outcomes.set(batch, { status: 'stored' });
        await this.#removeBatchFile(batch);
        this.#remember(batch.userId, items);
        this.#notifyStored(batch.userId, result, items);
      } catch (error) {
        if (refusedForGood(error)) {
          // The store refuses what this batch holds (e.g. an identity longer than it keys):
          // retrying cannot help, and it must not hold up every batch behind it.
          this.#batches.shift();
          this.#outcomes.set(batch, { status: 'refused', reason: 'store-refused' });
          this.#stats.deadLettered += batch.turnIds.length || 1;
          const reason = describeError(error, this.#o.secrets);
          // One line per batch set aside (each is set aside once).
          this.#o.logger?.warn(
            { error: reason, turns: batch.turnIds.length },
            'memory store refused a batch; set aside in the dead-letter folder',
          );
          await this.#o.outbox
            .deadLetterBatch(batch.id, reason)
            .catch((e: unknown) => this.#outboxFailed(e)); // still claimed: the next process sets it aside
          continue;
        }
        this.#stats.storeRetries++;
        this.#faults.report(
          'store',
          'memory store unavailable; batches kept in the outbox, retrying with backoff',
          error,
          { pendingBatches: this.#batches.length },
        );
        this.#storeRetry.schedule();
        return;
      } finally {
        this.#refreshOutboxDepth();
      }
    }
  }

  /**
   * The outbox's depth for stats: one folder read at a time, never awaited by the store's loop
   * ("remember that" waits on that loop, and an outage leaves thousands of files to list).
   */
  #refreshOutboxDepth(): void {
    if (this.#depthReading) return;
    this.#depthReading = this.#o.outbox
      .depth()
      .then(
        (depth) => void (this.#stats.outboxDepth = depth),
        () => undefined, // a folder that cannot be read is the outbox's failure to report
      )
      .finally(() => (this.#depthReading = undefined));
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
      .catch((e: unknown) => this.#outboxFailed(e));
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
    const entries = await this.#o.outbox.claimOrphans({ maxTurns: room });
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

  #storeWorks(): void {
    this.#storeRetry.succeeded();
    this.#faults.recovered('store', 'memory store is back');
    this.#resumeHeldBack();
  }

  /** Extraction held back while the store was behind resumes once there is room again. */
  #resumeHeldBack(): void {
    if (!this.#heldBack) return;
    if (this.#batches.length + this.#extracting >= this.#o.maxPendingBatches) return;
    this.#heldBack = false;
    this.#scheduleFlush();
  }

  #extractionWorks(turns: readonly Turn[]): void {
    this.#triage.succeeded(turns.map((t) => t.id));
    this.#extractionRetry.succeeded();
    this.#faults.recovered('extraction', 'memory extraction is back');
  }

  /**
   * Keeps the turns for a retry when the service is at fault, or sets them aside when they are.
   * @returns true when the turns are done with (set aside), false to keep them queued
   */
  async #extractionFailed(turns: readonly Turn[], error: unknown): Promise<boolean> {
    const ids = turns.map((t) => t.id);
    // An unusable answer with no fresh word from the service: ask it about something harmless.
    if (this.#triage.needsEvidence(ids, error))
      this.#triage.probed(await this.#o.extractor.probe());
    const triage = this.#triage.judge(ids, error);
    if (triage.action === 'retry') {
      this.#faults.report(
        'extraction',
        `memory extraction failing: ${triage.reason}; turns kept, retrying with backoff`,
        error,
      );
      return false;
    }
    this.#stats.deadLettered += turns.length;
    this.#o.logger?.warn(
      { reason: triage.reason, turns: turns.length },
      'memory extraction gave up on a batch; set aside in the dead-letter folder',
    );
    await this.#o.outbox
      .deadLetterTurns(ids, triage.reason)
      .catch((e: unknown) => this.#outboxFailed(e));
    return true;
  }

  /** Stored: its file goes (if that fails, a replay finds it applied and changes nothing). */
  async #removeBatchFile(batch: PendingBatch): Promise<void> {
    await this.#o.outbox.removeBatch(batch.id).catch((e: unknown) => this.#outboxFailed(e));
  }

  /** A listener's failure (e.g. the greeting cache) is not the store's: never a retry. */
  #notifyStored(userId: string, result: SaveResult, items: readonly MemoryInput[]): void {
    try {
      this.#o.onStored?.(userId, result, items);
    } catch (error) {
      this.#faults.report('background', 'memory onStored listener failed', error);
    }
  }

  #outboxFailed(error: unknown): void {
    this.#faults.report(
      'outbox',
      'memory outbox not writable (disk full?); memories kept in process memory only',
      error,
    );
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
