/**
 * Who uses the embedded PostgreSQL of a data directory. Several workers on one machine may share
 * it (the second reuses what the first started), so it is stopped by its last user, not by the
 * one that started it. Each user holds a file `<dataDir>/postgres.users/<pid>.<n>`; a file whose
 * process is gone (a SIGKILLed worker) no longer counts. Starting, stopping and deciding who is
 * last happen under one lock file, `<dataDir>/postgres.lock` (holding the holder's pid), so two
 * workers stopping at once can neither both stop it nor both leave it running.
 *
 * Synchronous on purpose: the last user may be a worker in its `exit` hook. A pid reused by an
 * unrelated process after a crash counts as a user until that process ends (the server then runs
 * on until the watchdog sees no live user).
 */
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { processIsAlive } from '../lib/process-alive.js';

/** A lock whose file has no pid yet is being written; past this it is a crashed writer's. */
const HALF_WRITTEN_LOCK_MS = 10_000;
const POLL_MS = 20;

let handles = 0;

/** @returns where the user files of a data directory's server live (one per worker pid) */
export const usersDirectory = (dataDir: string) => join(dataDir, 'postgres.users');
/** @returns the lock every start and stop of a data directory's server takes */
export const lockFile = (dataDir: string) => join(dataDir, 'postgres.lock');

/**
 * Registers this process as a user. A process may register more than once (each handle of
 * `startEmbeddedPostgres` is a user of its own).
 * @param dataDir the data directory
 * @returns the user's file, for {@link removeUser}
 */
export function addUser(dataDir: string): string {
  mkdirSync(usersDirectory(dataDir), { recursive: true });
  const file = join(usersDirectory(dataDir), `${process.pid}.${++handles}`);
  closeSync(openSync(file, 'w'));
  return file;
}

/** @param file a file {@link addUser} returned; removing it twice is harmless */
export function removeUser(file: string): void {
  rmSync(file, { force: true });
}

/**
 * @param dataDir the data directory
 * @returns the users whose process is alive; the files of dead ones are removed
 */
export function liveUsers(dataDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(usersDirectory(dataDir));
  } catch {
    return [];
  }
  return names.filter((name) => {
    if (processIsAlive(Number(name.split('.')[0]))) return true;
    rmSync(join(usersDirectory(dataDir), name), { force: true });
    return false;
  });
}

/**
 * Takes the data directory's lock, waiting while a live process holds it; a dead holder's lock
 * is taken over.
 * @param dataDir the data directory
 * @param timeoutMs how long to wait for a live holder
 * @returns the release function, or undefined when the lock could not be had in time
 */
export function tryLockSync(dataDir: string, timeoutMs: number): (() => void) | undefined {
  const deadline = Date.now() + timeoutMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    const release = takeLock(dataDir);
    if (release) return release;
    if (Date.now() >= deadline) return undefined;
    Atomics.wait(pause, 0, 0, POLL_MS);
  }
}

/**
 * The same lock, waited for without blocking the event loop (a server start may hold it for
 * seconds).
 * @param dataDir the data directory
 * @param timeoutMs how long to wait for a live holder
 * @returns the release function, or undefined when the lock could not be had in time
 */
export async function tryLock(
  dataDir: string,
  timeoutMs: number,
): Promise<(() => void) | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const release = takeLock(dataDir);
    if (release) return release;
    if (Date.now() >= deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function takeLock(dataDir: string): (() => void) | undefined {
  const file = lockFile(dataDir);
  try {
    const fd = openSync(file, 'wx', 0o600);
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    return () => rmSync(file, { force: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  if (holderIsGone(file)) rmSync(file, { force: true });
  return undefined;
}

function holderIsGone(file: string): boolean {
  try {
    const holder = Number(readFileSync(file, 'utf8').trim());
    if (holder > 0) return !processIsAlive(holder);
    return Date.now() - statSync(file).mtimeMs > HALF_WRITTEN_LOCK_MS;
  } catch {
    return false; // released meanwhile: the next attempt takes it
  }
}
