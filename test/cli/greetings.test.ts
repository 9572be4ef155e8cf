/**
 * The greetings command, run as an operator runs it: from source in its own process, in a bare
 * environment, from a temporary folder (never the repository's `.env` or `./data`), against a
 * real Postgres: one by DATABASE_URL, and the embedded one under MEMORY_DATA_DIR.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../../src/store/embedded-postgres.js';
import { PostgresMemoryStore } from '../../src/store/postgres-store.js';
import { type TestPostgres, startTestPostgres } from '../support/postgres.js';

const CLI = fileURLToPath(new URL('../../src/cli/greetings.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const USAGE = /^usage: npm run greetings -- invalidate \(--user <identity> \| --all\)/;

let postgres: TestPostgres;
let store: PostgresMemoryStore;
let cwd: string;
const dirs: string[] = [];
beforeAll(async () => {
  postgres = await startTestPostgres();
  store = await PostgresMemoryStore.connect(postgres.url);
  cwd = await temporaryDir('greetings-cwd-');
});
afterAll(async () => {
  await store?.close();
  await postgres?.stop();
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function temporaryDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function greetingsCli(
  args: string[],
  env: Record<string, string> = { DATABASE_URL: postgres.url },
) {
  const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return new Promise<Run>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const json = (run: Run) => JSON.parse(run.stdout) as Record<string, unknown>;

describe('npm run greetings', () => {
  it('marks one caller stale, drops one caller, then one agent, then everything, saying how many', async () => {
    await store.putGreeting('shop', 'maya', 'Welcome back, Maya!', 600);
    await store.putGreeting('shop', 'sam', 'Welcome back, Sam!', 600);
    await store.putGreeting('clinic', 'maya', 'Hello again, Maya.', 600);

    const stale = await greetingsCli([
      'invalidate',
      '--user',
      'maya',
      '--agent',
      'shop',
      '--stale',
    ]);
    expect(stale.code).toBe(0);
    expect(json(stale)).toEqual({ affected: 1, agent: 'shop', user: 'maya', stale: true });
    expect(stale.stderr).toBe('greetings: marked stale 1 greeting (caller "maya", agent "shop")\n');
    expect(await store.getGreeting('shop', 'maya')).toMatchObject({ stale: true });

    const one = await greetingsCli(['invalidate', '--user', 'maya', '--agent', 'shop']);
    expect(json(one)).toMatchObject({ affected: 1, agent: 'shop', user: 'maya', stale: false });
    expect(await store.getGreeting('shop', 'maya')).toBeUndefined();
    expect(await store.getGreeting('clinic', 'maya')).toBeDefined();

    // Without --agent: the configured agent (LIVEKIT_AGENT_NAME), here none, so "default".
    const defaultAgent = await greetingsCli(['invalidate', '--user', 'sam']);
    expect(json(defaultAgent)).toMatchObject({ affected: 0, agent: 'default', user: 'sam' });
    expect(await store.getGreeting('shop', 'sam')).toBeDefined();

    const agent = await greetingsCli(['invalidate', '--all', '--agent', 'shop']);
    expect(json(agent)).toMatchObject({ affected: 1, agent: 'shop', user: 'all' });
    expect(agent.stderr).toBe('greetings: deleted 1 greeting (every caller, agent "shop")\n');
    expect(await store.getGreeting('shop', 'sam')).toBeUndefined();
    expect(await store.getGreeting('clinic', 'maya')).toBeDefined();

    await store.putGreeting('shop', 'ines', 'Welcome back, Ines!', 600);
    const all = await greetingsCli(['invalidate', '--all', '--all-agents']);
    expect(json(all)).toMatchObject({ affected: 2, agent: 'all', user: 'all' });
    expect(all.stderr).toBe('greetings: deleted 2 greetings (every caller, every agent)\n');
    expect(await store.getGreeting('clinic', 'maya')).toBeUndefined();
    expect(await store.getGreeting('shop', 'ines')).toBeUndefined();
  }, 60_000);

  it('touches nothing without an explicit scope: the mistake, the usage, exit 2', async () => {
    // Every mistake is in test/unit/cli/greetings-command.test.ts; here, the process around one.
    await store.putGreeting('default', 'maya', 'Welcome back, Maya!', 600);
    const bare = await greetingsCli(['invalidate']);
    expect(bare).toMatchObject({ code: 2, stdout: '' });
    const [first, usage, more] = bare.stderr.split('\n');
    expect(first).toBe(
      'greetings: say whose greetings: --user <identity>, or --all for every caller',
    );
    expect(usage).toMatch(USAGE);
    expect(more).toBe('(--help for more)');
    expect(await store.getGreeting('default', 'maya')).toBeDefined();
  }, 30_000);

  it('--help (or -h, whatever else is typed): the usage and every option, exit 0', async () => {
    for (const args of [['--help'], ['invalidate', '--bogus', '-h']]) {
      const help = await greetingsCli(args, {});
      expect(help.code).toBe(0);
      expect(help.stderr).toBe('');
      expect(help.stdout).toMatch(USAGE);
      expect(help.stdout).toContain('--all-agents');
    }
  }, 30_000);

  it('a fresh data directory: starts the embedded Postgres, applies the migrations, stops it', async () => {
    const dataDir = await temporaryDir('greetings-data-');
    const run = await greetingsCli(['invalidate', '--user', 'maya'], { MEMORY_DATA_DIR: dataDir });
    expect(run.stderr).toBe('greetings: deleted 0 greetings (caller "maya", agent "default")\n');
    expect(run.code).toBe(0);
    expect(json(run)).toMatchObject({ affected: 0 });
    // Stopped, and waited for, before it exits: the next command must not reuse one shutting down.
    expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);

    // A worker's Postgres on that directory is used as it is, and left running.
    const worker = await startEmbeddedPostgres({ dataDir });
    try {
      const workerStore = await PostgresMemoryStore.connect(worker.url);
      await workerStore.putGreeting('default', 'maya', 'Welcome back, Maya!', 600);
      const again = await greetingsCli(['invalidate', '--user', 'maya'], {
        MEMORY_DATA_DIR: dataDir,
      });
      expect(json(again)).toMatchObject({ affected: 1 });
      expect(await workerStore.getGreeting('default', 'maya')).toBeUndefined();
      await workerStore.close();
    } finally {
      await worker.stop();
    }
  }, 60_000);

  it('a store it cannot reach: why, in one line without the password, nothing done, exit 1', async () => {
    const closed = `postgres://agent:hunter2-secret@127.0.0.1:${postgres.port + 1}/postgres`;
    const run = await greetingsCli(['invalidate', '--all'], { DATABASE_URL: closed });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^greetings: memory store migrations failed \(.*ECONNREFUSED/);
    expect(lines[1]).toBe('greetings: the memory store is not ready: nothing was changed');
    expect(lines).toHaveLength(2);
    expect(run.stderr).not.toContain('hunter2-secret');
  }, 30_000);

  it('an invalid configuration: one line naming the variable, exit 1', async () => {
    const run = await greetingsCli(['invalidate', '--all'], { MEMORY_STORE_CONNECTIONS: 'lots' });
    expect(run).toMatchObject({ code: 1, stdout: '' });
    expect(run.stderr).toMatch(/^greetings: invalid configuration: MEMORY_STORE_CONNECTIONS.*\n$/);
  }, 30_000);
});
