/**
 * Test equipment: the built worker, spawned as a user runs it (`node dist/agent.js start`), in its
 * own process group so that it and every job process it forks can be killed together. Output is
 * captured line by line; the framework's pino JSON lines are parsed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DIST_ENTRY = join(REPO_ROOT, 'dist/agent.js');

/** The built entry, or a clear failure: these tests run what `npm run build` produced. */
export function builtEntry(): string {
  // WORKER_ENTRY: run the same tests against another build (a release candidate, a bisect).
  const entry = process.env.WORKER_ENTRY ?? DIST_ENTRY;
  if (!existsSync(entry)) {
    throw new Error(`${entry} is missing: run \`npm run build\` before the end-to-end tests`);
  }
  const newer = entry === DIST_ENTRY ? newestSource(join(REPO_ROOT, 'src')) : undefined;
  if (newer && newer.mtimeMs > statSync(entry).mtimeMs) {
    throw new Error(`${newer.path} is newer than ${entry}: run \`npm run build\` first`);
  }
  return entry;
}

function newestSource(dir: string): { path: string; mtimeMs: number } | undefined {
  let newest: { path: string; mtimeMs: number } | undefined;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const found = entry.isDirectory()
      ? newestSource(path)
      : entry.name.endsWith('.ts')
        ? { path, mtimeMs: statSync(path).mtimeMs }
        : undefined;
    if (found && (!newest || found.mtimeMs > newest.mtimeMs)) newest = found;
  }
  return newest;
}

export interface LogLine {
  at: number;
  stream: 'stdout' | 'stderr';
  text: string;
  /** The pino record, when the line is JSON. */
  json?: Record<string, unknown> | undefined;
  /** The record's `msg`, or the raw text. */
  msg: string;
}

export type LineMatcher = RegExp | ((line: LogLine) => boolean);

export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** From the stop signal (or from spawn, for a worker that exited by itself). */
  afterMs: number;
  /** The worker did not exit in time and was SIGKILLed. */
  forced: boolean;
  /** Processes of the worker's group still alive after it exited (then SIGKILLed). */
  leftovers: number[];
}

export interface StartWorkerOptions {
  /** Added to a bare environment (PATH, HOME): nothing leaks in from the developer's shell. */
  env: Record<string, string | undefined>;
  args?: string[];
  entry?: string;
}

const live = new Set<WorkerProcess>();

export class WorkerProcess {
  readonly lines: LogLine[] = [];
  readonly startedAt = Date.now();
  readonly pid: number;
  exitInfo?: { code: number | null; signal: NodeJS.Signals | null; at: number };
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  readonly #listeners = new Set<() => void>();
  readonly #cwd: string;

  constructor({ env, args = ['start'], entry = builtEntry() }: StartWorkerOptions) {
    // A fresh working directory: the worker reads `.env` from it, and the repo's must not count.
    this.#cwd = mkdtempSync(join(tmpdir(), 'worker-cwd-'));
    this.#child = spawn(process.execPath, [entry, ...args], {
      cwd: this.#cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group: job processes join it and die with it
    });
    if (this.#child.pid === undefined) throw new Error(`could not spawn ${entry}`);
    this.pid = this.#child.pid;
    live.add(this);
    for (const stream of ['stdout', 'stderr'] as const) {
      createInterface({ input: this.#child[stream]! }).on('line', (text) =>
        this.#add(stream, text),
      );
    }
    this.#exited = new Promise((resolve) =>
      this.#child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal, at: Date.now() };
        resolve();
        this.#notify();
      }),
    );
  }

  #add(stream: LogLine['stream'], text: string): void {
    const json = parseRecord(text);
    this.lines.push({
      at: Date.now(),
      stream,
      text,
      json,
      msg: typeof json?.msg === 'string' ? json.msg : text,
    });
    this.#notify();
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }

  /** All output, as one text (for failure messages and "no stack trace" checks). */
  output(stream?: LogLine['stream']): string {
    return this.lines
      .filter((l) => !stream || l.stream === stream)
      .map((l) => l.text)
      .join('\n');
  }

  find(matcher: LineMatcher, from = 0): LogLine[] {
    return this.lines.slice(from).filter((l) => matches(matcher, l));
  }

  /**
   * The first line from index `from` on that matches. Fails after `timeoutMs`, or soon after the
   * worker exits without printing it, with the last lines of output in the message.
   */
  waitForLine(matcher: LineMatcher, timeoutMs = 10_000, from = 0): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      let exitTimer: NodeJS.Timeout | undefined;
      const finish = (error?: Error, line?: LogLine) => {
        clearTimeout(timer);
        clearTimeout(exitTimer);
        this.#listeners.delete(check);
        if (error) reject(error);
        else resolve(line!);
      };
      const fail = (why: string) =>
        finish(new Error(`${why} waiting for ${String(matcher)}; last output:\n${this.tail()}`));
      const check = () => {
        const line = this.lines.slice(from).find((l) => matches(matcher, l));
        if (line) return finish(undefined, line);
        // Output can trail the exit event a little: give it a moment.
        if (this.exitInfo && !exitTimer) {
          exitTimer = setTimeout(() => fail(`worker exited (${this.exitDescription()})`), 300);
        }
      };
      const timer = setTimeout(() => fail(`no line within ${timeoutMs} ms`), timeoutMs);
      this.#listeners.add(check);
      check();
    });
  }

  tail(count = 25): string {
    return this.lines
      .slice(-count)
      .map((l) => `  ${l.text.slice(0, 400)}`)
      .join('\n');
  }

  exitDescription(): string {
    return this.exitInfo ? `code ${this.exitInfo.code}, signal ${this.exitInfo.signal}` : 'running';
  }

  /** Waits for the worker to exit by itself; SIGKILLs the group if it does not in time. */
  async waitForExit(timeoutMs: number): Promise<WorkerExit> {
    return this.#finish(this.startedAt, timeoutMs);
  }

  /** Sends `signal` to the worker (not its group: an orchestrator signals the main process). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<WorkerExit> {
    const sentAt = Date.now();
    if (!this.exitInfo) this.#child.kill(signal);
    return this.#finish(sentAt, timeoutMs);
  }

  /**
   * Sends `signal` to the worker's whole process group, as a terminal's Ctrl-C does: the job
   * and inference processes get it too.
   */
  async stopGroup(signal: NodeJS.Signals = 'SIGINT', timeoutMs = 10_000): Promise<WorkerExit> {
    const sentAt = Date.now();
    if (!this.exitInfo) process.kill(-this.pid, signal);
    return this.#finish(sentAt, timeoutMs);
  }

  async #finish(since: number, timeoutMs: number): Promise<WorkerExit> {
    const exitedInTime = await Promise.race([
      this.#exited.then(() => true),
      delay(timeoutMs, false, { ref: false }),
    ]);
    if (!exitedInTime) {
      killGroup(this.pid);
      await this.#exited;
    }
    // Job processes that outlive the worker would go on running without supervision.
    let leftovers = groupMembers(this.pid);
    for (let waited = 0; leftovers.length > 0 && waited < 500; waited += 50) {
      await delay(50);
      leftovers = groupMembers(this.pid);
    }
    if (leftovers.length > 0) killGroup(this.pid);
    live.delete(this);
    rmSync(this.#cwd, { recursive: true, force: true });
    return {
      code: this.exitInfo!.code,
      signal: this.exitInfo!.signal,
      afterMs: this.exitInfo!.at - since,
      forced: !exitedInTime,
      leftovers,
    };
  }

  /** SIGKILLs the whole group at once: for cleanup, not for tests of shutdown. */
  async kill(): Promise<void> {
    killGroup(this.pid);
    await this.#exited;
    live.delete(this);
    rmSync(this.#cwd, { recursive: true, force: true });
  }
}

export function startWorker(options: StartWorkerOptions): WorkerProcess {
  return new WorkerProcess(options);
}

function matches(matcher: LineMatcher, line: LogLine): boolean {
  return typeof matcher === 'function' ? matcher(line) : matcher.test(line.text);
}

function parseRecord(text: string): Record<string, unknown> | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // ESRCH: the group is gone already
  }
}

/**
 * Live (not zombie) processes in a process group, read from /proc. A zombie is dead already, and
 * in a container nobody may reap it: counting it would report a leak that is not one.
 */
export function groupMembers(pgid: number): number[] {
  if (!existsSync('/proc/self/stat')) return groupAlive(pgid) ? [pgid] : [];
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses.
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z') members.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return members;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A port that is free now (the worker binds it a moment later). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// The safety net: whatever a failed test left running dies with the test file.
afterAll(async () => {
  await Promise.all([...live].map((worker) => worker.kill()));
});
process.once('exit', () => {
  for (const worker of live) killGroup(worker.pid);
});
