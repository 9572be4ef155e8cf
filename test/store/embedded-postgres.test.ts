import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { processIsAlive } from '../../src/lib/process-alive.js';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../../src/store/embedded-postgres.js';
import { PostgresMemoryStore } from '../../src/store/postgres-store.js';
import { eventually } from '../support/eventually.js';

const SOURCE = fileURLToPath(new URL('../../src/store/embedded-postgres.ts', import.meta.url));

const running: EmbeddedPostgres[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((pg) => pg.stop()));
  await Promise.all(
    dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true, maxRetries: 20 })),
  );
});

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'embedded-'));
  dirs.push(dir);
  return dir;
}

async function start(dir: string): Promise<EmbeddedPostgres> {
  const pg = await startEmbeddedPostgres({ dataDir: dir });
  running.push(pg);
  return pg;
}

describe('embedded Postgres', () => {
  it('initialises a cluster, keeps data across a restart, and keeps its password private', async () => {
    const dir = await dataDir();
    const first = await start(dir);
    expect(first.started).toBe(true);
    expect(first.url).toMatch(/^postgres:\/\/postgres:[^@]+@127\.0\.0\.1:\d+\/postgres$/);
    const store = await PostgresMemoryStore.connect(first.url, { applyMigrations: true });
    await store.save(
      'maya',
      [
        {
          category: 'identity',
          key: 'name',
          value: 'Is called Maya',
          confidence: 1,
          source: 'explicit',
        },
      ],
      'b1',
      new Date(),
    );
    await store.close();
    await first.stop();

    const second = await start(dir);
    expect(second.password).toBe(first.password);
    const again = await PostgresMemoryStore.connect(second.url, { applyMigrations: true });
    expect((await again.load('maya')).map((m) => m.value)).toEqual(['Is called Maya']);
    await again.close();

    expect((await stat(join(dir, 'postgres.password'))).mode & 0o077).toBe(0);
  });

  it("passes the server none of the worker's environment (API keys stay in the worker)", async () => {
    const secret = `sk-not-for-postgres-${Date.now()}`;
    process.env.OPENAI_API_KEY_PROBE = secret;
    try {
      const pg = await start(await dataDir());
      const environ = await readFile(`/proc/${pg.pid}/environ`, 'utf8');
      expect(environ.split('\0').filter(Boolean).sort()).toEqual(
        [`LC_ALL=C`, `PATH=${process.env.PATH}`].sort(),
      );
      expect(environ).not.toContain(secret);
    } finally {
      delete process.env.OPENAI_API_KEY_PROBE;
    }
  });

  it('stops the server when the process that started it is SIGKILLed', async () => {
    const dir = await dataDir();
    // The worker's role is played by a child Node process: it starts the server, then is killed.
    const owner = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `const { startEmbeddedPostgres } = await import(${JSON.stringify(SOURCE)});
         const pg = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dir)} });
         console.log(pg.pid);
         setInterval(() => undefined, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const [line] = (await once(createInterface({ input: owner.stdout! }), 'line')) as [string];
    const serverPid = Number(line);
    expect(processIsAlive(serverPid)).toBe(true);
    owner.kill('SIGKILL');
    // Within the watchdog's second of polling plus a fast shutdown; never left running.
    await eventually(() => expect(processIsAlive(serverPid)).toBe(false), 10_000);
    await eventually(
      () => expect(existsSync(join(dir, 'postgres', 'postmaster.pid'))).toBe(false),
      10_000,
    );
  }, 30_000);

  it('reuses a cluster already running on the same data directory', async () => {
    const dir = await dataDir();
    const owner = await start(dir);
    const second = await startEmbeddedPostgres({ dataDir: dir });
    running.push(second); // a user too: the server stops when both have left
    expect(second.started).toBe(false);
    expect(second.port).toBe(owner.port);
    const store = await PostgresMemoryStore.connect(second.url, { applyMigrations: true });
    await store.ping();
    await store.close();
  });

  it('starts after a crash left a stale postmaster.pid behind', async () => {
    const dir = await dataDir();
    const first = await start(dir);
    await first.stop();
    // What a SIGKILLed server leaves: a lock file naming a process that no longer exists.
    await writeFile(
      join(dir, 'postgres', 'postmaster.pid'),
      `999999\n${dir}/postgres\n0\n${first.port}\n\n`,
    );
    const second = await start(dir);
    expect(second.started).toBe(true);
    const store = await PostgresMemoryStore.connect(second.url, { applyMigrations: true });
    await store.ping();
    await store.close();
  });

  it('wrong credentials are a clear store error without the password', async () => {
    const pg = await start(await dataDir());
    const url = pg.url.replace(encodeURIComponent(pg.password), 'wrong-password');
    const failure = await PostgresMemoryStore.connect(url).catch((error: Error) => error);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toMatch(/password authentication failed/);
    expect((failure as Error).message).not.toContain(pg.password);
  });
});
