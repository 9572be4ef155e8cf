/**
 * The durable outbox: nothing a caller said is lost when a service is down or the process dies.
 *
 * One small file per entry, written atomically (temp file, fsync, rename):
 * - `turn-<id>.json`: a finished turn, not yet extracted;
 * - `batch-<id>.json`: a batch's extracted memories, not yet stored (same id on replay, so the
 *   store applies it once).
 * A turn file is removed once the batch holding it is written; a batch file once it is stored.
 * Several job processes share the directory: an entry is claimed by renaming it to
 * `<name>.<pid>_<outbox>.claim`; claims of dead processes (or of closed outboxes in this one)
 * are taken back on replay.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { MemoryInput } from './types.js';

export interface Turn {
  id: string;
  userId: string;
  userText: string;
  assistantText: string;
  at: string;
}

export interface PendingBatch {
  id: string;
  userId: string;
  turnIds: string[];
  items: MemoryInput[];
}

export type OutboxEntry = { kind: 'turn'; turn: Turn } | { kind: 'batch'; batch: PendingBatch };

/** Outboxes open in this process: a claim by one of them is live, whatever its pid says. */
const openOwners = new Set<string>();

export class Outbox {
  readonly #dir: string;
  readonly #deadDir: string;
  readonly #owner = `${process.pid}_${randomUUID().slice(0, 8)}`;
  readonly #claim = `.${this.#owner}.claim`;
  #ready?: Promise<void>;

  constructor(directory: string) {
    this.#dir = directory;
    this.#deadDir = join(directory, 'dead-letter');
    openOwners.add(this.#owner);
  }

  /** After close, this outbox's claims are orphans that another outbox may replay. */
  close(): void {
    openOwners.delete(this.#owner);
  }

  get directory(): string {
    return this.#dir;
  }

  #ensure(): Promise<void> {
    this.#ready ??= mkdir(this.#deadDir, { recursive: true }).then(() => undefined);
    return this.#ready;
  }

  /**
   * Durably appends a turn; resolves once it is on disk. It is claimed by this outbox, or left
   * unclaimed (`claim: false`) for whoever replays next, when this process is too busy for it.
   */
  async addTurn(turn: Turn, { claim = true } = {}): Promise<void> {
    await this.#write(`turn-${turn.id}.json${claim ? this.#claim : ''}`, turn);
  }

  /** Records a batch's extracted memories and, only then, drops its turns. */
  async addBatch(batch: PendingBatch): Promise<void> {
    await this.#write(`batch-${batch.id}.json${this.#claim}`, batch);
    await this.removeTurns(batch.turnIds);
  }

  /** Turns that yielded nothing new are done with. */
  async removeTurns(turnIds: readonly string[]): Promise<void> {
    await Promise.all(turnIds.map((id) => this.#remove(`turn-${id}.json`)));
  }

  async removeBatch(batchId: string): Promise<void> {
    await this.#remove(`batch-${batchId}.json`);
  }

  /** Keeps what can never be processed (e.g. an LLM that keeps answering garbage) aside, not lost. */
  async deadLetterTurns(turnIds: readonly string[], reason: string): Promise<void> {
    await this.#ensure();
    for (const id of turnIds) {
      const name = `turn-${id}.json`;
      const claimed = `${name}${this.#claim}`;
      const raw = await readFile(join(this.#dir, claimed), 'utf8').catch(() => undefined);
      if (raw === undefined) continue;
      await this.#writeAt(join(this.#deadDir, name), { reason, turn: JSON.parse(raw) as Turn });
      await rm(join(this.#dir, claimed), { force: true });
    }
  }

  /** A batch the store refuses for what it holds: kept aside with the reason, not retried. */
  async deadLetterBatch(batchId: string, reason: string): Promise<void> {
    await this.#ensure();
    const name = `batch-${batchId}.json`;
    const claimed = `${name}${this.#claim}`;
    const raw = await readFile(join(this.#dir, claimed), 'utf8').catch(() => undefined);
    if (raw === undefined) return;
    await this.#writeAt(join(this.#deadDir, name), {
      reason,
      batch: JSON.parse(raw) as PendingBatch,
    });
    await rm(join(this.#dir, claimed), { force: true });
  }

  /**
   * Claims every unclaimed entry, and every entry claimed by a process that no longer runs, for
   * this process: what a killed or drained process left behind is replayed here. At most
   * `maxTurns` turns are taken (the rest stays on disk for later: the caller's queue is bounded);
   * batches are always taken, and first.
   */
  async claimOrphans(
    isAlive: (pid: number) => boolean = processIsAlive,
    { maxTurns = Infinity }: { maxTurns?: number } = {},
  ): Promise<OutboxEntry[]> {
    await this.#ensure();
    const orphans: { file: string; base: string; kind: string }[] = [];
    for (const file of await readdir(this.#dir)) {
      const match = /^((turn|batch)-[\w-]+\.json)(?:\.((\d+)_\w+)\.claim)?$/.exec(file);
      if (!match) continue;
      const [, base, kind, owner, pid] = match;
      if (owner !== undefined && ownerIsAlive(owner, Number(pid), isAlive)) continue;
      orphans.push({ file, base: base!, kind: kind! });
    }
    const claim = async (file: string, base: string): Promise<unknown> => {
      const claimed = `${base}${this.#claim}`;
      try {
        // rename is atomic: when two processes race for one file, one of them wins.
        await rename(join(this.#dir, file), join(this.#dir, claimed));
        return JSON.parse(await readFile(join(this.#dir, claimed), 'utf8'));
      } catch {
        // Taken by another process, or half-written by a killed one (the temp file is ignored).
        return undefined;
      }
    };
    const entries: OutboxEntry[] = [];
    for (const { file, base } of orphans.filter((o) => o.kind === 'batch')) {
      const batch = (await claim(file, base)) as PendingBatch | undefined;
      if (batch) entries.push({ kind: 'batch', batch });
    }
    // A turn already in a stored-but-not-removed batch must not be extracted twice.
    const batched = new Set(entries.flatMap((e) => (e.kind === 'batch' ? e.batch.turnIds : [])));
    let turns = 0;
    for (const { file, base } of orphans.filter((o) => o.kind === 'turn')) {
      if (batched.has(base.slice('turn-'.length, -'.json'.length))) {
        await rm(join(this.#dir, file), { force: true });
        continue;
      }
      if (turns >= maxTurns) continue;
      const turn = (await claim(file, base)) as Turn | undefined;
      if (!turn) continue;
      entries.push({ kind: 'turn', turn });
      turns++;
    }
    return entries;
  }

  /** Entries on disk (all processes): how much is waiting to be stored. */
  async depth(): Promise<number> {
    await this.#ensure();
    return (await readdir(this.#dir)).filter((f) => /^(turn|batch)-/.test(f) && !f.endsWith('.tmp'))
      .length;
  }

  /** Claimed by this outbox: what it has accepted and not yet stored. */
  async claimed(): Promise<number> {
    await this.#ensure();
    return (await readdir(this.#dir)).filter((f) => f.endsWith(this.#claim)).length;
  }

  async #write(name: string, value: unknown): Promise<void> {
    await this.#ensure();
    await this.#writeAt(join(this.#dir, name), value);
  }

  async #writeAt(path: string, value: unknown): Promise<void> {
    const temp = `${path}.${randomUUID()}.tmp`;
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(JSON.stringify(value));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  }

  async #remove(name: string): Promise<void> {
    await rm(join(this.#dir, `${name}${this.#claim}`), { force: true });
    await rm(join(this.#dir, name), { force: true });
  }
}

function ownerIsAlive(owner: string, pid: number, isAlive: (pid: number) => boolean): boolean {
  return pid === process.pid ? openOwners.has(owner) : isAlive(pid);
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
