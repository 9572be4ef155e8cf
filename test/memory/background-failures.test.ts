/**
 * Background failures never crash a job process. A real child process (Node's default: an
 * unhandled rejection kills it) runs the production wiring on an outbox that cannot be written:
 * it survives, counts the failures, and never counts a turn as stored that is not in the store.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresMemoryStore } from '../../src/store/postgres-store.js';
import { TEST_SECRETS } from '../support/config.js';
import { type MemoryFixture, startMemoryFixture } from '../support/memory-fixture.js';

const CHILD = fileURLToPath(new URL('./support/outbox-failure-child.ts', import.meta.url));

let fx: MemoryFixture;
let store: PostgresMemoryStore;
let dir: string;
beforeAll(async () => {
  fx = await startMemoryFixture();
  store = await PostgresMemoryStore.connect(fx.postgresUrl);
  dir = await mkdtemp(join(tmpdir(), 'outbox-failure-'));
  // A regular file where the data folder's parent should be: every outbox write fails
  // (ENOTDIR), as with a full or read-only disk, and running as root does not help.
  await writeFile(join(dir, 'not-a-folder'), 'a file');
});
afterAll(async () => {
  await store?.close();
  await fx?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  alive?: { stats: Record<string, unknown> & { failures: Record<string, number> } };
}

function runChild(env: Record<string, string>): Promise<ChildRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      OPENAI_API_KEY: TEST_SECRETS.openai,
      OPENAI_BASE_URL: fx.openai.baseURL,
      MEMORY_DATA_DIR: join(dir, 'not-a-folder', 'data'),
      POOL_CLOSE_TIMEOUT_MS: '500',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  return new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      const line = output.split('\n').find((l) => l.startsWith('{"child":"alive"'));
      resolve({ code, signal, output, alive: line ? JSON.parse(line) : undefined });
    }),
  );
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const logLines = (output: string, msg: string) =>
  output.split('\n').filter((l) => l.includes(`"msg":"${msg}`)).length;

describe('an outbox that cannot be written', () => {
  it('the process survives, counts the failures once logged, and the store still gets the turn', async () => {
    const user = fx.user('disk-full');
    const run = await runChild({
      DATABASE_URL: fx.postgresUrl,
      CHILD_USER: user,
      CHILD_TURNS: JSON.stringify(['My name is Dora.']),
    });
    expect(run.code, run.output.slice(-2_000)).toBe(0);
    expect(run.alive).toBeDefined();
    const stats = run.alive!.stats;
    expect(stats.failures.outbox).toBeGreaterThanOrEqual(2); // the turn's file, the batch's file
    expect(stats).toMatchObject({ turnsProcessed: 1, batchesStored: 1, deadLettered: 0 });
    // Kept in process memory and stored: a disk that is full does not cost the caller the fact.
    expect((await store.load(user)).map((m) => m.key)).toEqual(['name']);
    // Logged once for the run, however many writes failed.
    expect(logLines(run.output, 'memory outbox not writable')).toBe(1);
    expect(run.output).not.toMatch(/Unhandled|unhandledRejection|ERR_UNHANDLED/);
  }, 60_000);

  it('with the store down too: alive, nothing counted as stored, the batch still pending', async () => {
    const user = fx.user('nowhere');
    const run = await runChild({
      DATABASE_URL: `postgres://memory:memory@127.0.0.1:${await closedPort()}/memory`,
      CHILD_USER: user,
      CHILD_TURNS: JSON.stringify(['My name is Nadia.']),
      CHILD_WAIT_MS: '4000', // two or three store retries
    });
    expect(run.code, run.output.slice(-2_000)).toBe(0);
    const stats = run.alive!.stats;
    expect(stats).toMatchObject({
      turnsProcessed: 1,
      batchesStored: 0,
      stored: 0,
      pendingBatches: 1,
    });
    expect(stats.failures.outbox).toBeGreaterThanOrEqual(2);
    expect(stats.failures.store).toBeGreaterThanOrEqual(2);
    expect(logLines(run.output, 'memory store unavailable')).toBe(1);
    expect(await store.load(user)).toHaveLength(0);
  }, 60_000);
});
