/**
 * Taking over what no live outbox holds: unclaimed entries, and claims whose owner's lease is
 * over (a killed or drained process). Batches come first (a turn whose batch is still on disk
 * must not be extracted a second time), both within the bounds the processor can hold; a file
 * that can never be processed goes to `dead-letter/` (logged once, counted); leftover temp
 * files of killed writers are removed on the way.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../lib/logger.js';
import { describeError } from '../../lib/redact.js';
import { DEAD_LETTER_FOLDER, setAside } from './dead-letter-folder.js';
import { claimEntry } from './outbox-claim.js';
import {
  ENTRY_FILE,
  type EntryKind,
  MAX_ENTRY_BYTES,
  type OutboxEntry,
  type PendingBatch,
  type Turn,
} from './outbox-entries.js';
import { removeStaleTempFiles, syncDirectory } from './outbox-files.js';
import type { OutboxLease } from './outbox-lease.js';
import type { OutboxCounts } from './outbox-stats.js';

/** A temp file older than this was left by a writer killed mid-write (a live one takes ms). */
export const TEMP_FILE_GRACE_MS = 120_000;

/** What of its outbox the claiming works with. */
export interface OrphanClaimsParts {
  /** The outbox folder. */
  dir: string;
  /** The suffix this outbox's claims carry: `.<owner>.claim`. */
  claimSuffix: string;
  lease: OutboxLease;
  counts: OutboxCounts;
  /** Poison this outbox could not move: claimed by it, so never read again by it. */
  stuck: Set<string>;
  logger: Logger | undefined;
  now: () => number;
}

/** Most entries taken in one go; the rest stays on disk for a later call. */
export interface ClaimBounds {
  /** Turns the caller's queues have room for. Default: no bound. */
  maxTurns?: number;
  /** Batches the processor may hold in memory. Default: no bound. */
  maxBatches?: number;
}

interface Candidate {
  file: string;
  name: string;
  kind: EntryKind;
  id: string;
}

export class OrphanClaims {
  readonly #parts: OrphanClaimsParts;

  /** @param parts the outbox's folder, claim suffix, lease, counts, stuck files, logger, clock */
  constructor(parts: OrphanClaimsParts) {
    this.#parts = parts;
  }

  /**
   * @param bounds most turns and batches to take
   * @returns the entries claimed, batches first, turns in the order they were heard
   * @throws when the folder cannot be read
   */
  async claim({ maxTurns = Infinity, maxBatches = Infinity }: ClaimBounds): Promise<OutboxEntry[]> {
    const { dir } = this.#parts;
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
        await rm(join(dir, candidate.file), { force: true });
        continue;
      }
      if (turns.length >= maxTurns) continue;
      const entry = await this.#take(candidate);
      if (entry?.kind === 'turn') turns.push(entry.turn);
    }
    // The claims survive a power cut before anyone works on them.
    if (candidates.length > 0) await syncDirectory(dir);
    turns.sort((a, b) => a.at.localeCompare(b.at));
    return [
      ...batches.map((batch) => ({ kind: 'batch' as const, batch })),
      ...turns.map((turn) => ({ kind: 'turn' as const, turn })),
    ];
  }

  /** Unclaimed entries, and claims whose owner's lease is over (each lease looked at once). */
  async #orphans(): Promise<Candidate[]> {
    const live = new Map<string, Promise<boolean>>();
    const candidates: Candidate[] = [];
    for (const file of await readdir(this.#parts.dir)) {
      const match = ENTRY_FILE.exec(file);
      if (!match) continue;
      const [, name, kind, id, owner] = match;
      if (owner !== undefined) {
        if (!live.has(owner)) live.set(owner, this.#parts.lease.isLive(owner));
        if (await live.get(owner)) continue;
      }
      candidates.push({ file, name: name!, kind: kind as EntryKind, id: id! });
    }
    return candidates;
  }

  async #take(candidate: Candidate): Promise<OutboxEntry | undefined> {
    const { dir, claimSuffix, counts, logger } = this.#parts;
    const claimed = `${candidate.name}${claimSuffix}`;
    let outcome;
    try {
      const { file, kind, id } = candidate;
      outcome = await claimEntry(dir, file, claimed, kind, id, MAX_ENTRY_BYTES);
    } catch (error) {
      // Not ours to take (e.g. no permission): left where it is, reported, never a failed replay.
      logger?.warn(
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
    counts.adopted++;
    return outcome.entry;
  }

  async #setAsidePoison(claimed: string, name: string, reason: string): Promise<void> {
    const { dir, counts, logger, now } = this.#parts;
    counts.poisoned++;
    counts.lastPoison = `${name}: ${reason}`;
    try {
      const deadLetter = await setAside(dir, claimed, name, {
        reason,
        at: new Date(now()).toISOString(),
        origin: 'outbox',
      });
      logger?.warn(
        { file: name, reason, deadLetter: `${DEAD_LETTER_FOLDER}/${deadLetter}` },
        'unreadable outbox entry set aside in the dead-letter folder',
      );
    } catch (error) {
      counts.setAsideFailures++;
      this.#parts.stuck.add(claimed);
      logger?.warn(
        { file: name, reason, error: describeError(error) },
        'unreadable outbox entry could not be set aside; this process leaves it alone',
      );
    }
  }

  /** Temp files of killed writers (here, in dead-letter, in leases), expired leases. */
  async #removeLeftovers(): Promise<void> {
    const { dir, counts, logger, lease } = this.#parts;
    const now = this.#parts.now();
    let removed = 0;
    for (const folder of [dir, join(dir, DEAD_LETTER_FOLDER), join(dir, 'leases')]) {
      removed += await removeStaleTempFiles(folder, now, TEMP_FILE_GRACE_MS);
    }
    if (removed > 0) {
      counts.tempFilesRemoved += removed;
      logger?.info({ removed }, 'removed temp files left by writers killed mid-write');
    }
    await lease.removeExpired();
  }
}
