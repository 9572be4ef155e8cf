/**
 * One embedded PostgreSQL shared by several workers on a data directory: the last user stops it,
 * whoever started it, and however the others ended (exit hook or SIGKILL); a worker that watches
 * it starts it again when it disappears. Workers are played by child Node processes (each a user
 * by its pid) and by handles in this process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { processIsAlive } from '../../src/lib/process-alive.js';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../../src/store/embedded-postgres.js';
import { captureLogs } from '../memory/support/log-capture.js';
import { eventually } from '../support/eventually.js';

const SOURCE = fileURLToPath(new URL('../../src/store/embedded-postgres.ts', import.meta.url));

const handles: EmbeddedPostgres[] = [];
const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await Promise.all(handles.splice(0).map((pg) => pg.stop()));
  await Promise.all(
    dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true, maxRetries: 20 })),
  );
});

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'shared-pg-'));
  dirs.push(dir);
  return dir;
}

const lockOf = (dir: string) => join(dir, 'postgres', 'postmaster.pid');

/**
 * A worker's part, in a child process: joins the data directory's server, leaves it in its exit
 * hook (SIGTERM exits normally), prints `<server pid or -> <port>` once it is a user.
 */
async function workerProcess(dir: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      `const { startEmbeddedPostgres } = await import(${JSON.stringify(SOURCE)});
       const pg = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dir)} });
       process.once('exit', () => pg.stopOnExit());
       process.once('SIGTERM', () => process.exit(0));
       console.log(pg.port);
       setInterval(() => undefined, 1000);`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(child);
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  return { child, port: Number(line) };
}

async function exited(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  const done = once(child, 'exit');
  child.kill(signal);
  await done;
}

async function reachable(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    expect(await sql`select 1 as one`).toEqual([{ one: 1 }]);
  } finally {
    await sql.end();
  }
}

describe('an embedded PostgreSQL shared by two workers', () => {
  it('stays up when the worker that started it stops, and the last one stops it', async () => {
    const dir = await dataDir();
    const first = await workerProcess(dir);
    const second = await startEmbeddedPostgres({ dataDir: dir });
    expect(second.started).toBe(false);
    expect(second.port).toBe(first.port);

    await exited(first.child, 'SIGTERM');
    // The starter left; the server is the second's now.
    await reachable(second.url);

    await second.stop();
    // Stopped and waited for: nothing left for the next start to reuse by mistake.
    expect(existsSync(lockOf(dir))).toBe(false);
  }, 30_000);

  it('two users in one process: the first to stop leaves it to the other', async () => {
    const dir = await dataDir();
    const a = await startEmbeddedPostgres({ dataDir: dir });
    const b = await startEmbeddedPostgres({ dataDir: dir });
    handles.push(b);
    await a.stop();
    await reachable(b.url);
    await b.stop();
    expect(existsSync(lockOf(dir))).toBe(false);
  }, 30_000);

  it('survives the SIGKILL of the worker that started it; stops once every user is killed', async () => {
    const dir = await dataDir();
    const first = await workerProcess(dir);
    const second = await workerProcess(dir);
    expect(second.port).toBe(first.port);
    // This process joins only to learn the URL, and leaves: the children are the users.
    const probe = await startEmbeddedPostgres({ dataDir: dir });
    const { url } = probe;
    await probe.stop();

    await exited(first.child, 'SIGKILL');
    // The watchdog polls once a second: give it three looks.
    await delay(3_000);
    expect(existsSync(lockOf(dir))).toBe(true);
    await reachable(url);

    await exited(second.child, 'SIGKILL');
    await eventually(() => expect(existsSync(lockOf(dir))).toBe(false), 10_000);
  }, 40_000);

  it('a data directory deleted under it: the watchdog stops the server, never loops', async () => {
    const dir = await dataDir();
    const worker = await workerProcess(dir);
    const serverPid = Number(readFileSync(lockOf(dir), 'utf8').split('\n')[0]);
    expect(processIsAlive(serverPid)).toBe(true);
    await exited(worker.child, 'SIGKILL'); // no exit hook: only the watchdog is left to stop it
    await rm(dir, { recursive: true, force: true, maxRetries: 20 });
    await eventually(() => expect(processIsAlive(serverPid)).toBe(false), 10_000);
  }, 40_000);

  it('two workers stopping at once: it is stopped by the time both have exited', async () => {
    const dir = await dataDir();
    const [a, b] = [await workerProcess(dir), await workerProcess(dir)];
    await Promise.all([exited(a.child, 'SIGTERM'), exited(b.child, 'SIGTERM')]);
    // Not the watchdog's later look: one of the two stopped it in its exit hook.
    expect(existsSync(lockOf(dir))).toBe(false);
  }, 30_000);
});

describe('a worker whose embedded PostgreSQL disappears', () => {
  it('says so once and starts it again on the same port', async () => {
    const dir = await dataDir();
    const pg = await startEmbeddedPostgres({ dataDir: dir });
    handles.push(pg);
    const { logger, lines } = captureLogs();
    pg.keepRunning(logger);
    const before = pg.pid!;

    // An operator's fast shutdown, from outside.
    process.kill(before, 'SIGINT');
    await eventually(() => expect(processIsAlive(before)).toBe(false), 10_000);
    await eventually(
      () => expect(lines.map((l) => l.msg)).toContain('embedded PostgreSQL running again'),
      15_000,
    );

    expect(lines.map((l) => `${l.level} ${l.msg}`)).toEqual([
      'warn embedded PostgreSQL stopped under this worker: starting it again',
      'info embedded PostgreSQL running again',
    ]);
    expect(pg.pid).not.toBe(before);
    // The same URL as before: the job processes' connections find it again.
    await reachable(pg.url);
  }, 30_000);
});
