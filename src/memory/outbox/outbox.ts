/**
 * The durable outbox: nothing a caller said is lost when a service is down or the process dies.
 *
 * One small file per entry, written atomically (temp file, fsync, rename, fsync of the folder):
 * - `turn-<id>.json`: a finished turn, not yet extracted;
 * - `batch-<id>.json`: a batch's extracted memories, not yet stored (same id on replay, so the
 *   store applies it once).
 * A turn file is removed once the batch holding it is written; a batch file once it is stored.
 * Several job processes (on several hosts, maybe) share the folder: an entry is claimed by
 * renaming it to `<name>.<owner>.claim`, and a claim is live while its owner's lease is (see
 * outbox-lease.ts); what no live outbox holds is taken over (orphan-claims.ts). Every file
 * read is checked (outbox-claim.ts): one that can never be processed goes to `dead-letter/`
 * with its reason, logged once and counted, so the processor only ever receives well-formed
 * entries.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../lib/logger.js';
import { describeError } from '../../lib/redact.js';
import { DEAD_LETTER_FOLDER, setAside } from './dead-letter-folder.js';
import { type ClaimBounds, OrphanClaims } from './orphan-claims.js';
import {
  ENTRY_FILE,
  ENTRY_ID,
  type EntryKind,
  type OutboxEntry,
  type PendingBatch,
  type Turn,
} from './outbox-entries.js';
import { isMissing, writeFileDurably } from './outbox-files.js';
import { OutboxLease } from './outbox-lease.js';
import { type OutboxCounts, type OutboxStats, newOutboxCounts } from './outbox-stats.js';

export type { OutboxEntry, PendingBatch, Turn } from './outbox-entries.js';
export type { OutboxStats } from './outbox-stats.js';
export { MAX_ENTRY_BYTES } from './outbox-entries.js';
export { TEMP_FILE_GRACE_MS } from './orphan-claims.js';

/** A claim whose owner has not renewed its lease for this long belongs to a dead process. */
export const DEFAULT_LEASE_TTL_MS = 30_000;

export interface OutboxOptions {
  /** Where poison entries, leftover temp files and lease failures are reported. */
  logger?: Logger;
}

export class Outbox {
  readonly #dir: string;
  readonly #logger: Logger | undefined;
  readonly #now: () => number;
  readonly #lease: OutboxLease;
  readonly #claim: string;
  /** Poison this outbox could not move: claimed by it, so never read again by it. */
  readonly #stuck = new Set<string>();
  readonly #counts: OutboxCounts = newOutboxCounts();
  readonly #orphanClaims: OrphanClaims;
  #ready: Promise<void> | undefined;

  /**
   * @param directory the outbox folder (`<MEMORY_DATA_DIR>/outbox`), shared by every process
   * @param options where its failures are logged (tests fake the clock, never the TTL)
   */
  constructor(directory: string, options: OutboxOptions = {}) {
    this.#dir = directory;
    this.#logger = options.logger;
    this.#now = () => Date.now();
    this.#lease = new OutboxLease(join(directory, 'leases'), {
      now: this.#now,
      ttlMs: DEFAULT_LEASE_TTL_MS,
      onRenewFailure: (error) =>
        this.#logger?.warn(
          { error: describeError(error) },
          'outbox lease could not be renewed; another process may take over these entries',
        ),
    });
    this.#claim = `.${this.#lease.owner}.claim`;
    this.#orphanClaims = new OrphanClaims({
      dir: directory,
      claimSuffix: this.#claim,
      lease: this.#lease,
      counts: this.#counts,
      stuck: this.#stuck,
      logger: this.#logger,
      now: this.#now,
    });
  }

  /** Ends the lease: this outbox's claims are orphans that another outbox may take at once. */
  close(): void {
    this.#lease.close();
  }

  /** The id this outbox's claims carry: a random UUID, unique across hosts. */
  get owner(): string {
    return this.#lease.owner;
  }

  /**
   * Durably appends a turn; resolves once it is on disk. It is claimed by this outbox, or left
   * unclaimed (`claim: false`) for whoever replays next, when this process is too busy for it.
   *
   * @param turn the finished turn
   * @param options `claim: false` leaves it for whoever replays next (default: claimed here)
   * @throws the file system's error (e.g. ENOSPC): the turn is not on disk
   * @throws {@link Error} when the turn's id could not be a file name
   */
  async addTurn(turn: Turn, { claim = true }: { claim?: boolean } = {}): Promise<void> {
    await this.#write(`${entryName('turn', turn.id)}${claim ? this.#claim : ''}`, turn);
  }

  /**
   * Records a batch's extracted memories and, only then, drops its turns.
   *
   * @param batch the extracted memories and the ids of the turns behind them
   * @throws the file system's error: the batch is not on disk, its turns are kept
   */
  async addBatch(batch: PendingBatch): Promise<void> {
    await this.#write(`${entryName('batch', batch.id)}${this.#claim}`, batch);
    await this.removeTurns(batch.turnIds);
  }

  /**
   * Turns that yielded nothing new (or were forgotten) are done with; a file already gone is fine.
   * @param turnIds the turns' ids
   * @throws the file system's error when a file is there and cannot be removed
   */
  async removeTurns(turnIds: readonly string[]): Promise<void> {
    await Promise.all(turnIds.map((id) => this.#remove(entryName('turn', id))));
  }

  /**
   * A stored batch is done with; a file already gone is fine.
   * @param batchId the batch's id
   * @throws the file system's error when the file is there and cannot be removed
   */
  async removeBatch(batchId: string): Promise<void> {
    await this.#remove(entryName('batch', batchId));
  }

  /**
   * Keeps what can never be processed (e.g. an LLM that keeps answering garbage) aside, not lost.
   *
   * @param turnIds the turns, claimed by this outbox
   * @param reason why, for the operator (no caller text)
   * @throws the file system's error: the turns stay claimed by this outbox
   */
  async deadLetterTurns(turnIds: readonly string[], reason: string): Promise<void> {
    for (const id of turnIds) await this.#deadLetter(entryName('turn', id), reason);
  }

  /**
   * A batch the store refuses for what it holds: kept aside with the reason, not retried.
   *
   * @param batchId the batch, claimed by this outbox
   * @param reason why, for the operator (no caller text)
   * @throws the file system's error: the batch stays claimed by this outbox
   */
  async deadLetterBatch(batchId: string, reason: string): Promise<void> {
    await this.#deadLetter(entryName('batch', batchId), reason);
  }

  /**
   * Claims every unclaimed entry, and every entry whose owner's lease is over, for this outbox:
   * what a killed or drained process left behind is replayed here. Only well-formed entries are
   * returned; a file that can never be processed is moved to `dead-letter/` (logged once,
   * counted). Batches come first, at most `maxBatches` of them (the batches held in memory are
   * bounded); turns only once no orphan batch is left behind (a turn whose batch is still on disk
   * must not be extracted a second time), at most `maxTurns` (the caller's queue is bounded).
   * The rest stays on disk for a later call. Leftover temp files are removed.
   *
   * @param bounds most turns and batches to take (default: everything)
   * @returns the entries claimed, batches first, turns in the order they were heard
   * @throws the file system's error when the folder cannot be read or created
   */
  async claimOrphans(bounds: ClaimBounds = {}): Promise<OutboxEntry[]> {
    await this.#ensure();
    return this.#orphanClaims.claim(bounds);
  }

  /**
   * @returns the entries on disk (all processes'): how much is waiting to be stored
   * @throws the file system's error when the folder cannot be read or created
   */
  async depth(): Promise<number> {
    await this.#ensure();
    return (await readdir(this.#dir)).filter((f) => ENTRY_FILE.test(f) && !this.#stuck.has(f))
      .length;
  }

  /**
   * @returns the entries claimed by this outbox: what it has accepted and not yet stored
   * @throws the file system's error when the folder cannot be read or created
   */
  async claimed(): Promise<number> {
    await this.#ensure();
    return (await readdir(this.#dir)).filter((f) => f.endsWith(this.#claim) && !this.#stuck.has(f))
      .length;
  }

  /** @returns what this outbox did with the folder's files (no caller text) */
  stats(): OutboxStats {
    return { ...this.#counts, leaseRenewFailures: this.#lease.renewFailures };
  }

  #ensure(): Promise<void> {
    this.#ready ??= (async () => {
      await mkdir(join(this.#dir, DEAD_LETTER_FOLDER), { recursive: true });
      // The lease exists before the first claim of this outbox does.
      await this.#lease.start();
    })().catch((error: unknown) => {
      this.#ready = undefined; // the next call tries again
      throw error;
    });
    return this.#ready;
  }

  async #deadLetter(name: string, reason: string): Promise<void> {
    await this.#ensure();
    const why = { reason, at: new Date(this.#now()).toISOString(), origin: 'processor' as const };
    try {
      await setAside(this.#dir, `${name}${this.#claim}`, name, why);
      this.#counts.setAside++;
    } catch (error) {
      if (isMissing(error)) return; // removed meanwhile (forgotten, or stored by another process)
      this.#counts.setAsideFailures++;
      throw error;
    }
  }

  async #write(name: string, value: Turn | PendingBatch): Promise<void> {
    await this.#ensure();
    await writeFileDurably(join(this.#dir, name), JSON.stringify(value));
  }

  async #remove(name: string): Promise<void> {
    await rm(join(this.#dir, `${name}${this.#claim}`), { force: true });
    await rm(join(this.#dir, name), { force: true });
  }
}

function entryName(kind: EntryKind, id: string): string {
  // Ids come from this process or from checked files: one that is not would be a path.
  if (!ENTRY_ID.test(id)) throw new Error(`not an outbox ${kind} id`);
  return `${kind}-${id}.json`;
}
