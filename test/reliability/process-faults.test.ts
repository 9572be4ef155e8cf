/**
 * Process faults with real OS processes: a job process's memory side (built by the product's
 * `buildProcessResources`, see support/memory-child.ts) is SIGKILLed in the middle of a batch,
 * or gets SIGTERM during a flush. The next process replays the outbox; every turn is stored once.
 */
import { mkdtemp, readdir, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TEST_SECRETS } from '../support/config.js';
import { type MemoryFixture, eventually, startMemoryFixture } from '../support/memory-fixture.js';
import { MemoryChild } from './support/child-process.js';
import { type SerialExtraction, serialExtraction } from './support/serial-extraction.js';
import { StoreRows } from './support/stored-once.js';

let fx: MemoryFixture;
let rows: StoreRows;
let extraction: SerialExtraction;
const children: MemoryChild[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  fx = await startMemoryFixture();
  extraction = serialExtraction();
  fx.openai.onChat(extraction.handler);
  rows = new StoreRows(fx.postgresUrl);
});
afterEach(async () => {
  extraction.release();
  await Promise.all(children.map((c) => c.kill()));
});
afterAll(async () => {
  await rows?.close();
  await fx?.stop();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** Six turns, three facts a batch of two each: one caller's call. */
const TURNS = [
  ['My name is Kaito.', 'name'],
  ['I like green tea.', 'favorite_green_tea'],
  ["I'm working on a bamboo flute.", 'current_project'],
  ['I love tide pools.', 'favorite_tide_pools'],
  ['I prefer window seats.', 'favorite_window_seats'],
  ['I like origami cranes.', 'favorite_origami_cranes'],
] as const;
const KEYS = TURNS.map(([, key]) => key);

async function outboxDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'reliability-process-'));
  dirs.push(dir);
  return dir;
}

function start(dir: string, mode: 'call' | 'replay', user = '', env: Record<string, string> = {}) {
  const child = new MemoryChild({
    OPENAI_API_KEY: TEST_SECRETS.openai,
    OPENAI_BASE_URL: fx.openai.baseURL,
    LIVEKIT_API_KEY: TEST_SECRETS.livekitKey,
    LIVEKIT_API_SECRET: TEST_SECRETS.livekitSecret,
    DATABASE_URL: fx.postgresUrl,
    MEMORY_DATA_DIR: dir,
    MEMORY_BATCH_SIZE: '2',
    MEMORY_BATCH_DELAY_MS: '60000',
    MEMORY_EXTRACTION_TIMEOUT_MS: '10000',
    POOL_CLOSE_TIMEOUT_MS: '500',
    LOG_LEVEL: 'debug',
    CHILD_MODE: mode,
    CHILD_USER: user,
    CHILD_TURNS: JSON.stringify(TURNS.map(([said]) => said)),
    ...env,
  });
  children.push(child);
  return child;
}

/**
 * A killed process never renews its outbox lease again: its claims are orphans once the lease is
 * older than the TTL (30 s). Ages the leases as 30 s would, instead of waiting.
 */
async function expireLeases(dir: string): Promise<void> {
  const leases = join(dir, 'outbox', 'leases');
  const expired = new Date(Date.now() - 60_000);
  for (const lease of await readdir(leases)) await utimes(join(leases, lease), expired, expired);
}

/** The next process: replays what the dead one left, exits once the outbox is empty. */
async function replay(dir: string) {
  const next = start(dir, 'replay');
  const ended = await next.event('ended', 30_000);
  expect(await next.exited).toMatchObject({ code: 0 });
  return ended;
}

const secretsIn = (text: string) => {
  const password = decodeURIComponent(new URL(fx.postgresUrl).password);
  return [...Object.values(TEST_SECRETS), password].filter((s) => text.includes(s));
};

describe('a job process killed in the middle of a batch', () => {
  it('SIGKILL while the extraction is in flight: the next process replays every turn, once', async () => {
    const dir = await outboxDir();
    const user = fx.user('kaito');
    extraction.hold();
    const first = start(dir, 'call', user);
    await first.event('queued');
    await eventually(() => expect(extraction.waiting).toBeGreaterThan(0), 15_000);
    first.signal('SIGKILL');
    expect(await first.exited).toMatchObject({ signal: 'SIGKILL' });
    // Everything the caller said is on disk, claimed by a process that no longer exists.
    const files = await readdir(join(dir, 'outbox'));
    expect(files.filter((f) => f.startsWith('turn-'))).toHaveLength(TURNS.length);
    extraction.release();

    await expireLeases(dir);
    const ended = await replay(dir);
    expect(ended.stats).toMatchObject({ turnsProcessed: TURNS.length, deadLettered: 0 });
    await rows.expectStoredOnce(user, KEYS);
  }, 60_000);

  it('SIGKILL while its save is in flight (and commits after the kill): the replay changes nothing twice', async () => {
    const dir = await outboxDir();
    const user = fx.user('mei');
    // Hold the caller's row lock (the one save_memories takes) so the save waits inside Postgres.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const locking = rows.sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(hashtextextended(${`memories:${user}`}, 0))`;
      await held;
    });
    try {
      const first = start(dir, 'call', user);
      await first.event('queued');
      const waitingSave = () => rows.sql<{ pid: number }[]>`
        select pid from pg_stat_activity
         where wait_event_type = 'Lock' and query like '%save_memories%'`;
      await eventually(async () => expect(await waitingSave()).toHaveLength(1), 15_000);
      first.signal('SIGKILL');
      await first.exited;
      const files = await readdir(join(dir, 'outbox'));
      expect(files.filter((f) => f.startsWith('batch-'))).toHaveLength(1);
      release();
      await locking;
      // The orphaned save finishes inside Postgres: its batch is applied, its outbox file stays.
      await eventually(async () => expect(await waitingSave()).toHaveLength(0));
      await eventually(async () => expect((await rows.of(user)).batches).toBe(1));
    } finally {
      release();
      await locking.catch(() => undefined);
    }

    await expireLeases(dir);
    const ended = await replay(dir);
    // The replayed batch was recognised as applied; the rest was extracted and stored.
    expect((ended.stats as { turnsProcessed: number }).turnsProcessed).toBe(TURNS.length - 2);
    const stored = await rows.expectStoredOnce(user, KEYS);
    expect(stored.batches).toBe(TURNS.length / 2);
  }, 60_000);
});

describe('SIGTERM during a memory flush', () => {
  it('the drain completes when the flush can finish within the deadline', async () => {
    const dir = await outboxDir();
    const user = fx.user('noa');
    extraction.hold();
    const child = start(dir, 'call', user, { MEMORY_DRAIN_TIMEOUT_MS: '10000' });
    await child.event('queued');
    await eventually(() => expect(extraction.waiting).toBeGreaterThan(0), 15_000);
    child.signal('SIGTERM');
    await child.event('shutdown');
    extraction.release();
    const ended = await child.event('ended');
    expect(await child.exited).toMatchObject({ code: 0 });
    expect(ended.report).toMatchObject({ drain: { drained: true, left: 0 } });
    expect((await readdir(join(dir, 'outbox'))).sort()).toEqual(['dead-letter', 'leases']);
    expect(await readdir(join(dir, 'outbox', 'leases'))).toEqual([]); // closed: lease ended
    await rows.expectStoredOnce(user, KEYS);
  }, 60_000);

  it('past the drain deadline the rest spills to the outbox, and the next process stores it once', async () => {
    const dir = await outboxDir();
    const user = fx.user('ezra');
    const drainMs = 800;
    extraction.hold();
    const child = start(dir, 'call', user, { MEMORY_DRAIN_TIMEOUT_MS: String(drainMs) });
    await child.event('queued');
    await eventually(() => expect(extraction.waiting).toBeGreaterThan(0), 15_000);
    const sentAt = child.signal('SIGTERM');
    const ended = await child.event('ended');
    const exit = await child.exited;
    const exitMs = Math.round(exit.at - sentAt);
    console.info(`[reliability] SIGTERM with the LLM stalled: exit after ${exitMs} ms`);
    expect(exit.code).toBe(0);
    // Drain deadline, the next greeting, then the pool's close deadline (500 ms): bounded.
    expect(exitMs).toBeLessThan(drainMs + 500 + 3_000);
    const report = ended.report as { drain: { drained: boolean; left: number } };
    expect(report.drain.drained).toBe(false);
    expect(report.drain.left).toBe(TURNS.length);
    extraction.release();

    await replay(dir);
    await rows.expectStoredOnce(user, KEYS);
  }, 60_000);
});

describe('what the processes wrote', () => {
  it('holds no secret: API keys, LiveKit credentials, the database password', () => {
    expect(children.length).toBeGreaterThanOrEqual(6);
    const everything = children.map((c) => c.output).join('\n');
    // Debug logs of every stage were there to be scanned.
    for (const message of ['memory processor drained', 'replaying memory outbox', 'call ended'])
      expect(everything).toContain(message);
    expect(secretsIn(everything)).toEqual([]);
  });
});
