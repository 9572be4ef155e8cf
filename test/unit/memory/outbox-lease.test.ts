/**
 * Claims decided by leases: two outboxes with their own owners share a folder (as two containers
 * sharing MEMORY_DATA_DIR do). Built with the production defaults (30 s TTL); time moves with
 * vitest's fake clock, so no test waits 30 s.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Logger } from '../../../src/lib/logger.js';
import { DEFAULT_LEASE_TTL_MS, Outbox, type Turn } from '../../../src/memory/outbox/outbox.js';

let dir: string;
const outboxes: Outbox[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outbox-lease-'));
  // Only the clock and the renewal timer are fake: file system calls and polling stay real.
  vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'] });
});
afterEach(async () => {
  vi.useRealTimers();
  outboxes.splice(0).forEach((o) => o.close());
  await rm(dir, { recursive: true, force: true });
});

function open(logger?: Logger): Outbox {
  const outbox = new Outbox(dir, logger ? { logger } : {});
  outboxes.push(outbox);
  return outbox;
}

const turn = (): Turn => ({
  id: randomUUID(),
  userId: 'caller',
  userText: 'I like tea.',
  assistantText: 'Noted.',
  at: new Date().toISOString(),
});

const leasePath = (owner: string) => join(dir, 'leases', owner);

/** Real-time polling (the fake clock does not move by itself). */
async function until(check: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + 5_000;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error('condition not met in 5 s');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Lets the fake clock run: renewal timers fire, and their file updates land. */
async function elapse(ms: number, renewing: Outbox[] = []): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
  const now = Date.now();
  for (const o of renewing) {
    // Renewed to the current (fake) time; file times keep microseconds, not the float's last bits.
    await until(async () => {
      const renewed = await stat(leasePath(o.owner)).catch(() => undefined);
      return renewed !== undefined && Math.abs(renewed.mtimeMs - now) < 1;
    });
  }
}

/** What a process killed with SIGKILL leaves: its claims and its lease, never renewed again. */
async function deadOwner(owner: string, leaseAgeMs: number, turns = [turn()]): Promise<Turn[]> {
  await mkdir(join(dir, 'leases'), { recursive: true });
  for (const t of turns)
    await writeFile(join(dir, `turn-${t.id}.json.${owner}.claim`), JSON.stringify(t));
  await writeFile(leasePath(owner), '{}');
  const at = new Date(Date.now() - leaseAgeMs);
  await utimes(leasePath(owner), at, at);
  return turns;
}

const ids = (entries: Awaited<ReturnType<Outbox['claimOrphans']>>) =>
  entries.map((e) => (e.kind === 'turn' ? e.turn.id : e.batch.id)).sort();

describe('outbox claims held by a lease', () => {
  it('a live owner renews its lease: its claims are never stolen, however long it runs', async () => {
    const a = open();
    const b = open();
    const t = turn();
    await a.addTurn(t);
    for (let i = 0; i < 6; i++) {
      await elapse(DEFAULT_LEASE_TTL_MS / 3, [a]); // 60 s in all, twice the TTL
      expect(await b.claimOrphans()).toEqual([]);
    }
    expect(await a.claimed()).toBe(1);
    expect(a.stats().leaseRenewFailures).toBe(0);
  });

  it('a dead owner’s claims are adopted once its lease is older than the TTL, not before', async () => {
    const a = open();
    const t = turn();
    await a.addTurn(t);
    const b = open();
    // `a` stops renewing, as a killed process does: the clock moves, its timer never runs.
    vi.setSystemTime(Date.now() + DEFAULT_LEASE_TTL_MS - 1_000);
    expect(await b.claimOrphans()).toEqual([]);
    vi.setSystemTime(Date.now() + 2_000);
    expect(await b.claimOrphans()).toEqual([{ kind: 'turn', turn: t }]);
    expect(await b.claimed()).toBe(1);
    expect(await a.claimed()).toBe(0);
  });

  it('after close, the claims are adopted at once and the lease is gone', async () => {
    const a = open();
    const turns = [turn(), turn()];
    for (const t of turns) await a.addTurn(t);
    const b = open();
    expect(await b.claimOrphans()).toEqual([]);
    a.close();
    await expect(stat(leasePath(a.owner))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(ids(await b.claimOrphans())).toEqual(turns.map((t) => t.id).sort());
  });

  it('an owner id that is the pid of a live process counts for nothing: the lease decides', async () => {
    // Claims as an older version named them (`<pid>_<id>`), with the pid of a live process.
    const reused = `${process.ppid}_1a2b3c4d`;
    const noLease = `${process.pid}_5e6f7a8b`;
    const held = await deadOwner(reused, 5_000);
    const legacy = [turn()];
    for (const t of legacy) {
      await writeFile(join(dir, `turn-${t.id}.json.${noLease}.claim`), JSON.stringify(t));
    }
    const b = open();
    // A claim without a lease is no one's; one with a fresh lease is kept.
    expect(ids(await b.claimOrphans())).toEqual(legacy.map((t) => t.id));
    vi.setSystemTime(Date.now() + DEFAULT_LEASE_TTL_MS);
    expect(ids(await b.claimOrphans())).toEqual(held.map((t) => t.id));
  });

  it('a lease left by a dead owner is removed after twice the TTL', async () => {
    await deadOwner(randomUUID(), 2 * DEFAULT_LEASE_TTL_MS + 1_000, []);
    const fresh = randomUUID();
    await deadOwner(fresh, 0, []);
    const b = open();
    await b.claimOrphans();
    expect((await readdir(join(dir, 'leases'))).sort()).toEqual([b.owner, fresh].sort());
  });

  it('two processes racing for the same files: each is claimed by exactly one', async () => {
    const writer = open();
    const turns = Array.from({ length: 40 }, turn);
    for (const t of turns) await writer.addTurn(t, { claim: false });
    const [b, c] = [open(), open()];
    const [fromB, fromC] = await Promise.all([b.claimOrphans(), c.claimOrphans()]);
    expect(ids([...fromB, ...fromC])).toEqual(turns.map((t) => t.id).sort());
    expect((await b.claimed()) + (await c.claimed())).toBe(turns.length);
  });

  it('a failing renewal is logged once per run of failures and counted; the lease comes back', async () => {
    const warnings: string[] = [];
    const logger = { warn: (_: unknown, msg: string) => warnings.push(msg) } as unknown as Logger;
    const a = open(logger);
    await a.addTurn(turn());
    // The leases folder replaced by a file: every renewal fails (ENOTDIR).
    await rm(join(dir, 'leases'), { recursive: true });
    await writeFile(join(dir, 'leases'), '');
    for (let i = 1; i <= 3; i++) {
      await vi.advanceTimersByTimeAsync(DEFAULT_LEASE_TTL_MS / 3);
      await until(async () => a.stats().leaseRenewFailures === i);
    }
    expect(warnings).toEqual([expect.stringMatching(/lease could not be renewed/)]);

    await rm(join(dir, 'leases'));
    await mkdir(join(dir, 'leases'));
    await elapse(DEFAULT_LEASE_TTL_MS / 3, [a]);
    expect(await open().claimOrphans()).toEqual([]);
  });
});
