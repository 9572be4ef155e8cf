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
 * outbox-lease.ts). Every file read is checked (outbox-claim.ts): one that can never be
 * processed goes to `dead-letter/` with its reason, logged once and counted, so the processor
 * only ever receives well-formed entries.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../lib/logger.js';
import { describeError } from '../../lib/redact.js';
import { DEAD_LETTER_FOLDER, setAside } from './dead-letter-folder.js';
import { claimEntry } from './outbox-claim.js';
import {
  ENTRY_ID,
  ENTRY_NAME_SOURCE,
  type EntryKind,
  type OutboxEntry,
  type PendingBatch,
  type Turn,
} from './outbox-entries.js';
import {
  isMissing,
  removeStaleTempFiles,
  syncDirectory,
  writeFileDurably,
} from './outbox-files.js';
import { OutboxLease } from './outbox-lease.js';

export type { OutboxEntry, PendingBatch, Turn } from './outbox-entries.js';

/** A claim whose owner has not renewed its lease for this long belongs to a dead process. */
export const DEFAULT_LEASE_TTL_MS = 30_000;
/** The largest entry read: far above a real one (a turn's text, a bounded batch of facts). */
export const MAX_ENTRY_BYTES = 1024 * 1024;
/** A temp file older than this was left by a writer killed mid-write (a live one takes ms). */
export const TEMP_FILE_GRACE_MS = 120_000;

/** An entry's file, unclaimed or claimed; groups: name, kind, id, owner. */
const ENTRY_FILE = new RegExp(String.raw`^(${ENTRY_NAME_SOURCE})(?:\.([\w-]{1,100})\.claim)?$`);

export interface OutboxOptions {
  /** Where poison entries, leftover temp files and lease failures are reported. */
  logger?: Logger;
}

export interface OutboxStats {
  /** Entries taken from the folder (unclaimed, or left by an owner whose lease is over). */
  adopted: number;
  /** Files that can never be processed (empty, cut short, garbage, wrong shape, too large). */
  poisoned: number;
  /** Entries the processor set aside (the LLM or the store refused them for good). */
  setAside: number;
  /** Poison or refused entries that could not be moved (left claimed by this outbox). */
  setAsideFailures: number;
  /** Temp files of writers killed mid-write, removed. */
  tempFilesRemoved: number;
  /** Lease renewals that failed (a failing disk: this outbox's entries may be taken over). */
  leaseRenewFailures: number;
  /** The last poison file and why (no caller text). */
  lastPoison?: string;
}

interface Candidate {
  file: string;
  name: string;
  kind: EntryKind;
  id: string;
}

export class Outbox {
  readonly #dir: string;
  readonly #logger: Logger | undefined;
  readonly #now: () => number;
  readonly #lease: OutboxLease;
  readonly #claim: string;
  /** Poison this outbox could not move: claimed by it, so never read again by it. */
  readonly #stuck = new Set<string>();
  readonly #stats: Omit<OutboxStats, 'leaseRenewFailures'> = {
    adopted: 0,
    poisoned: 0,
    setAside: 0,
    setAsideFailures: 0,
    tempFilesRemoved: 0,
  };
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
   * @throws the file system's error (e.g. ENOSPC): the turn is not on disk
   */
  async addTurn(turn: Turn, { claim = true }: { claim?: boolean } = {}): Promise<void> {
    await this.#write(`${entryName('turn', turn.id)}${claim ? this.#claim : ''}`, turn);
  }

  /**
   * Records a batch's extracted memories and, only then, drops its turns.
   *
   * @throws the file system's error: the batch is not on disk, its turns are kept
   */
  async addBatch(batch: PendingBatch): Promise<void> {
    await this.#write(`${entryName('batch', batch.id)}${this.#claim}`, batch);
    await this.removeTurns(batch.turnIds);
  }

  /** Turns that yielded nothing new are done with. */
  async removeTurns(turnIds: readonly string[]): Promise<void> {
    await Promise.all(turnIds.map((id) => this.#remove(entryName('turn', id))));
  }

  async removeBatch(batchId: string): Promise<void> {
    await this.#remove(entryName('batch', batchId));
  }

  /**
   * Keeps what can never be processed (e.g. an LLM that keeps answering garbage) aside, not lost.
   *
   * @param reason why, for the operator (no caller text)
   * @throws the file system's error: the turns stay claimed by this outbox
   */
  async deadLetterTurns(turnIds: readonly string[], reason: string): Promise<void> {
    for (const id of turnIds) await this.#deadLetter(entryName('turn', id), reason);
  }

  /**
   * A batch the store refuses for what it holds: kept aside with the reason, not retried.
   *
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
   * @returns the entries claimed, batches first, turns in the order they were heard
   * @throws when the folder cannot be read or created
   */
  async claimOrphans({
    maxTurns = Infinity,
    maxBatches = Infinity,
  }: { maxTurns?: number; maxBatches?: number } = {}): Promise<OutboxEntry[]> {
    await this.#ensure();
    await this.#removeLeftovers();
    const candidates = await this.#orphans();
    const batches: PendingBatch[] = [];
    const orphanBatches = candidates.filter((c) => c.kind === 'batch');
    for (const candidate of orphanBatches.slice(0, maxBatches)) {
      const entry = await this.#take(candidate);
      if (entry?.kind === 'batch') batches.push(entry.batch);
    }
    // A turn already in a stored-but-not-removed batch must not be extracted twice.
    const batched = new Set(batches.flatMap((b) => b.turnIds));
    const turns: Turn[] = [];
    const batchesLeft = orphanBatches.length > maxBatches;
    for (const candidate of batchesLeft ? [] : candidates.filter((c) => c.kind === 'turn')) {
      if (batched.has(candidate.id)) {
        await rm(join(this.#dir, candidate.file), { force: true });
        continue;
      }
      if (turns.length >= maxTurns) continue;
      const entry = await this.#take(candidate);
      if (entry?.kind === 'turn') turns.push(entry.turn);
    }
    // The claims survive a power cut before anyone works on them.
    if (candidates.length > 0) await syncDirectory(this.#dir);
    turns.sort((a, b) => a.at.localeCompare(b.at));
    return [
      ...batches.map((batch) => ({ kind: 'batch' as const, batch })),
      ...turns.map((turn) => ({ kind: 'turn' as const, turn })),
    ];
  }

  /** Entries on disk (all processes): how much is waiting to be stored. */
  async depth(): Promise<number> {
    await this.#ensure();
    return (await readdir(this.#dir)).filter((f) => ENTRY_FILE.test(f) && !this.#stuck.has(f))
      .length;
  }

  /** Claimed by this outbox: what it has accepted and not yet stored. */
  async claimed(): Promise<number> {
    await this.#ensure();
    return (await readdir(this.#dir)).filter((f) => f.endsWith(this.#claim) && !this.#stuck.has(f))
      .length;
  }

  /** What this outbox did with the folder's files. */
  stats(): OutboxStats {
    return { ...this.#stats, leaseRenewFailures: this.#lease.renewFailures };
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

  /** Unclaimed entries, and claims whose owner's lease is over (each lease looked at once). */
  async #orphans(): Promise<Candidate[]> {
    const live = new Map<string, Promise<boolean>>();
    const candidates: Candidate[] = [];
    for (const file of await readdir(this.#dir)) {
      const match = ENTRY_FILE.exec(file);
      if (!match) continue;
      const [, name, kind, id, owner] = match;
      if (owner !== undefined) {
        if (!live.has(owner)) live.set(owner, this.#lease.isLive(owner));
        if (await live.get(owner)) continue;
      }
      candidates.push({ file, name: name!, kind: kind as EntryKind, id: id! });
    }
    return candidates;
  }

  async #take(candidate: Candidate): Promise<OutboxEntry | undefined> {
    const claimed = `${candidate.name}${this.#claim}`;
    let outcome;
    try {
      outcome = await claimEntry(
        this.#dir,
        candidate.file,
        claimed,
        candidate.kind,
        candidate.id,
        MAX_ENTRY_BYTES,
      );
    } catch (error) {
      // Not ours to take (e.g. no permission): left where it is, reported, never a failed replay.
      this.#logger?.warn(
        { file: candidate.name, error: describeError(error) },
        'outbox entry could not be claimed',
      );
      return undefined;
    }
    if ('gone' in outcome) return undefined;
    if ('poison' in outcome) {
      await this.#setAsidePoison(claimed, candidate.name, outcome.poison);
      return undefined;
    }
    this.#stats.adopted++;
    return outcome.entry;
  }

  async #setAsidePoison(claimed: string, name: string, reason: string): Promise<void> {
    this.#stats.poisoned++;
    this.#stats.lastPoison = `${name}: ${reason}`;
    try {
      const deadLetter = await setAside(this.#dir, claimed, name, {
        reason,
        at: new Date(this.#now()).toISOString(),
        origin: 'outbox',
      });
      this.#logger?.warn(
        { file: name, reason, deadLetter: `${DEAD_LETTER_FOLDER}/${deadLetter}` },
        'unreadable outbox entry set aside in the dead-letter folder',
      );
    } catch (error) {
      this.#stats.setAsideFailures++;
      this.#stuck.add(claimed);
      this.#logger?.warn(
        { file: name, reason, error: describeError(error) },
        'unreadable outbox entry could not be set aside; this process leaves it alone',
      );
    }
  }

  async #deadLetter(name: string, reason: string): Promise<void> {
    await this.#ensure();
    const why = { reason, at: new Date(this.#now()).toISOString(), origin: 'processor' as const };
    try {
      await setAside(this.#dir, `${name}${this.#claim}`, name, why);
      this.#stats.setAside++;
    } catch (error) {
      if (isMissing(error)) return; // removed meanwhile (forgotten, or stored by another process)
      this.#stats.setAsideFailures++;
      throw error;
    }
  }

  /** Temp files of killed writers (here, in dead-letter, in leases), expired leases. */
  async #removeLeftovers(): Promise<void> {
    const now = this.#now();
    let removed = 0;
    for (const dir of [this.#dir, join(this.#dir, DEAD_LETTER_FOLDER), join(this.#dir, 'leases')]) {
      removed += await removeStaleTempFiles(dir, now, TEMP_FILE_GRACE_MS);
    }
    if (removed > 0) {
      this.#stats.tempFilesRemoved += removed;
      this.#logger?.info({ removed }, 'removed temp files left by writers killed mid-write');
    }
    await this.#lease.removeExpired();
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
