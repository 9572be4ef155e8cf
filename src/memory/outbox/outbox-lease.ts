/**
 * Who holds a claim, decided by a lease, not by a process id: each open outbox keeps a file
 * `leases/<owner>` whose modification time it moves forward every few seconds. A claim is live
 * while its owner's lease is younger than the TTL. A process id says nothing across containers
 * sharing the folder (a live claim would be stolen) or after the id is reused (a dead claim would
 * be kept forever); a lease dies with its owner whatever the host, and `close()` ends it at once.
 */
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdir, readdir, rm, stat, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { isMissing, writeFileDurably } from './outbox-files.js';

export interface OutboxLeaseOptions {
  /** Milliseconds since the epoch; the clock every lease time is read and written with. */
  now: () => number;
  /** A lease not renewed for this long is over: its owner's claims are orphans. */
  ttlMs: number;
  /** Called when a renewal fails (once per run of failures: a failing disk is not a log flood). */
  onRenewFailure: (error: unknown) => void;
}

export class OutboxLease {
  /** Unique across hosts and restarts: a random UUID, never a process id. */
  readonly owner = randomUUID();
  readonly #dir: string;
  readonly #path: string;
  readonly #o: OutboxLeaseOptions;
  #timer: NodeJS.Timeout | undefined;
  #renewing: Promise<void> | undefined;
  #failing = false;
  #closed = false;
  renewFailures = 0;

  /**
   * @param directory the folder of leases (`<outbox>/leases`)
   * @param options the clock, the TTL and where renewal failures are reported
   */
  constructor(directory: string, options: OutboxLeaseOptions) {
    this.#dir = directory;
    this.#path = join(directory, this.owner);
    this.#o = options;
  }

  /**
   * Takes the lease (before any claim of its owner exists) and renews it every third of the TTL
   * on a timer that never keeps the process alive.
   *
   * @throws when the lease file cannot be written (no claim can be made safely then)
   */
  async start(): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    await this.#write();
    if (this.#closed) {
      removeQuietly(this.#path);
      return;
    }
    this.#timer = setInterval(() => void this.renew(), Math.max(1, this.#o.ttlMs / 3));
    this.#timer.unref();
  }

  /** Moves the lease forward now (the timer does it; one renewal at a time). */
  renew(): Promise<void> {
    this.#renewing ??= this.#touch().finally(() => {
      this.#renewing = undefined;
    });
    return this.#renewing;
  }

  /**
   * Ends the lease at once: its owner's claims become orphans that another outbox may take.
   * Synchronous, so that it also runs from an exit handler.
   */
  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    removeQuietly(this.#path);
  }

  /**
   * @param owner the owner named in a claim's file name
   * @returns true while that owner's lease is younger than the TTL (this lease: while open);
   *   a lease that cannot be looked at (e.g. no permission) counts as live: never steal blindly
   */
  async isLive(owner: string): Promise<boolean> {
    if (owner === this.owner) return !this.#closed;
    try {
      return this.#o.now() - (await stat(join(this.#dir, owner))).mtimeMs <= this.#o.ttlMs;
    } catch (error) {
      return !isMissing(error);
    }
  }

  /**
   * Removes leases over for twice the TTL (their owners are gone; a missing lease and a stale
   * one mean the same), so the folder does not grow with every process ever started.
   *
   * @returns how many were removed
   */
  async removeExpired(): Promise<number> {
    let removed = 0;
    for (const owner of await readdir(this.#dir).catch(() => [] as string[])) {
      if (owner === this.owner) continue;
      const path = join(this.#dir, owner);
      const info = await stat(path).catch(() => undefined);
      if (!info?.isFile() || this.#o.now() - info.mtimeMs <= 2 * this.#o.ttlMs) continue;
      await rm(path, { force: true });
      removed++;
    }
    return removed;
  }

  async #touch(): Promise<void> {
    if (this.#closed) return;
    try {
      const seconds = this.#o.now() / 1000;
      await utimes(this.#path, seconds, seconds).catch(async (error: unknown) => {
        // Removed from under us (an operator's cleanup): take it again.
        if (isMissing(error)) await this.#write();
        else throw error;
      });
      if (this.#closed) removeQuietly(this.#path);
      this.#failing = false;
    } catch (error) {
      this.renewFailures++;
      if (!this.#failing) this.#o.onRenewFailure(error);
      this.#failing = true;
    }
  }

  async #write(): Promise<void> {
    // Who holds it, for an operator looking at the folder; only the modification time counts.
    const holder = { host: hostname(), pid: process.pid, since: new Date(this.#o.now()) };
    await writeFileDurably(this.#path, JSON.stringify(holder));
    const seconds = this.#o.now() / 1000;
    await utimes(this.#path, seconds, seconds);
  }
}

/** A lease that cannot be removed simply runs out: closing never fails for it. */
function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // expires after the TTL
  }
}
