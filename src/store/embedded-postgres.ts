/**
 * The zero-configuration store: a real PostgreSQL run by the main worker process, data under
 * `<dataDir>/postgres` (the server itself: embedded-server.ts).
 *
 * Several workers on one machine may share a data directory: the first starts the server, the
 * others reuse it, and each is a user of it (embedded-users.ts). Whoever is last stops it, not
 * whoever started it; a watchdog stops it when every user was killed (stop-with-last-user.ts). A
 * worker that watches its server (`keepRunning`) starts it again, on the same port, when it
 * disappears anyway (a crash, an operator's `kill`): its job processes hold a URL with that port
 * and their driver reconnects, so the calls get their memory back without a restart.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../lib/logger.js';
import { processIsAlive } from '../lib/process-alive.js';
import { describeError } from '../lib/redact.js';
import {
  EmbeddedPostgresError,
  USER,
  freePort,
  readOrCreatePassword,
  runningCluster,
  startCluster,
} from './embedded-server.js';
import {
  addUser,
  liveUsers,
  lockFile,
  removeUser,
  tryLock,
  tryLockSync,
} from './embedded-users.js';
import { stopWithLastUser } from './stop-with-last-user.js';

export { EmbeddedPostgresError };

export interface EmbeddedPostgres {
  /** Connection URL for the job processes (credentials included: treat it as a secret). */
  url: string;
  password: string;
  port: number;
  /** The server's process id when this handle started it; undefined when it reused one. */
  readonly pid: number | undefined;
  /** True when this handle started the server. */
  readonly started: boolean;
  /** Stops using the server; the last user stops it, and waits until it has exited. */
  stop(): Promise<void>;
  /** The same, synchronous, for `process.on('exit')` (blocks while the last user stops it). */
  stopOnExit(): void;
  /**
   * Looks at the server every `intervalMs` (default 2 s); when it is gone, says so once and
   * starts it again on the same port, retrying each interval until it runs.
   */
  keepRunning(logger: Logger, intervalMs?: number): void;
  /** Processes of ours that must outlive this one (the server and its watchdog). */
  ownPids(): number[];
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  /** 0 or undefined: any free port. */
  port?: number;
  /** How long the server may take to start (default 30 s). */
  startTimeoutMs?: number;
  onLog?: (line: string) => void;
}

/** How long a stop waits for the lock, and then for the server's fast shutdown, before SIGKILL. */
const STOP_TIMEOUT_MS = 10_000;

/**
 * Starts the data directory's PostgreSQL, or joins the one already running there, as one user.
 * @param options the data directory, port (0: any free) and start timeout
 * @returns a handle on the running server: its URL (with the password), and how to leave it
 * @throws {@link EmbeddedPostgresError} when the binaries are missing or the server does not start
 */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<EmbeddedPostgres> {
  const dataDir = resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true });
  const password = await readOrCreatePassword(join(dataDir, 'postgres.password'));
  const handle = new SharedPostgres(dataDir, password, options);
  await handle.join(options.port || 0);
  return handle;
}

class SharedPostgres implements EmbeddedPostgres {
  port = 0;
  started = false;
  #child: ChildProcess | undefined;
  #watchdog: ChildProcess | undefined;
  #user: string | undefined;
  #watch: NodeJS.Timeout | undefined;

  constructor(
    readonly dataDir: string,
    readonly password: string,
    readonly options: EmbeddedPostgresOptions,
  ) {}

  get url(): string {
    return `postgres://${USER}:${encodeURIComponent(this.password)}@127.0.0.1:${this.port}/postgres`;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Under the lock: reuse the running server or start one on `port`, and count us as a user. */
  async join(port: number): Promise<void> {
    const release = await tryLock(this.dataDir, (this.options.startTimeoutMs ?? 30_000) + 5_000);
    if (!release) {
      throw new EmbeddedPostgresError(`${lockFile(this.dataDir)} is held by a live process`);
    }
    try {
      const running = runningCluster(this.dataDir);
      if (running) {
        this.port = running.port;
      } else {
        const chosen = port || (await freePort());
        const child = await startCluster(this.dataDir, this.password, chosen, this.options);
        const watchdog = stopWithLastUser(child.pid!, this.dataDir);
        child.once('exit', () => watchdog.kill('SIGKILL'));
        [this.#child, this.#watchdog, this.port, this.started] = [child, watchdog, chosen, true];
      }
      this.#user ??= addUser(this.dataDir);
    } finally {
      release();
    }
  }

  async stop(): Promise<void> {
    this.#stopWatching();
    const release = await tryLock(this.dataDir, STOP_TIMEOUT_MS);
    try {
      const last = this.#leave(release !== undefined);
      if (last === undefined) return;
      signal(last, 'SIGINT');
      const deadline = Date.now() + STOP_TIMEOUT_MS;
      while (this.#runs(last) && Date.now() < deadline) await delay(20);
      if (this.#runs(last)) signal(last, 'SIGKILL');
    } finally {
      release?.();
    }
  }

  stopOnExit(): void {
    this.#stopWatching();
    if (this.#user === undefined) return;
    const release = tryLockSync(this.dataDir, STOP_TIMEOUT_MS);
    try {
      const last = this.#leave(release !== undefined);
      if (last === undefined) return;
      signal(last, 'SIGINT');
      const pause = new Int32Array(new SharedArrayBuffer(4));
      const deadline = Date.now() + STOP_TIMEOUT_MS;
      while (this.#runs(last) && Date.now() < deadline) Atomics.wait(pause, 0, 0, 20);
      if (this.#runs(last)) signal(last, 'SIGKILL');
    } finally {
      release?.();
    }
  }

  /**
   * Removes our user. Without the lock the server is left to the watchdog.
   * @returns the server's pid when we were its last user (the caller stops it, lock held)
   */
  #leave(locked: boolean): number | undefined {
    if (this.#user !== undefined) removeUser(this.#user);
    this.#user = undefined;
    if (!locked || liveUsers(this.dataDir).length > 0) return undefined;
    return runningCluster(this.dataDir)?.pid;
  }

  /** Until its lock file is gone: a reaped or zombie server counts as stopped then. */
  #runs(pid: number): boolean {
    return processIsAlive(pid) && existsSync(join(this.dataDir, 'postgres', 'postmaster.pid'));
  }

  keepRunning(logger: Logger, intervalMs = 2_000): void {
    if (this.#watch) return;
    let down = false;
    let failures = 0;
    let busy = false;
    const look = async () => {
      if (busy || runningCluster(this.dataDir)) return;
      busy = true;
      if (!down) {
        logger.warn(
          { port: this.port, dataDir: this.dataDir },
          'embedded PostgreSQL stopped under this worker: starting it again',
        );
        down = true;
      }
      try {
        await this.join(this.port);
        logger.info(
          { port: this.port, postgresPid: this.pid },
          'embedded PostgreSQL running again',
        );
        [down, failures] = [false, 0];
      } catch (error) {
        // Said once; the next intervals try again quietly.
        if (failures++ === 0) {
          logger.error(
            { error: describeError(error), port: this.port },
            'embedded PostgreSQL could not be started again: calls go on without memory until it can',
          );
        }
      } finally {
        busy = false;
      }
    };
    this.#watch = setInterval(() => void look(), intervalMs);
    this.#watch.unref();
  }

  #stopWatching(): void {
    clearInterval(this.#watch);
    this.#watch = undefined;
  }

  ownPids(): number[] {
    return [this.#child, this.#watchdog]
      .filter((p) => p && p.exitCode === null && p.signalCode === null)
      .map((p) => p!.pid!)
      .filter((pid) => pid !== undefined);
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // gone already
  }
}
