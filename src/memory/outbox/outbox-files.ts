/**
 * The file operations the outbox is built on: a write that is whole or absent (temp file, fsync,
 * rename, fsync of the folder), a rename that survives a power cut, and a read that refuses a
 * file too large to be an entry instead of loading it.
 */
import { randomUUID } from 'node:crypto';
import { lstat, open, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Temp files end with this; a writer killed mid-write leaves one behind. */
export const TEMP_SUFFIX = '.tmp';

/**
 * Writes `text` to `path` so that a reader sees the whole file or none of it, and the file is
 * still there after a crash or a power cut once this resolves.
 *
 * @param path where the file goes
 * @param text what it holds
 * @throws the file system's error (ENOSPC, EACCES, …); the temp file is left for the cleanup
 */
export async function writeFileDurably(path: string, text: string): Promise<void> {
  const temp = `${path}.${randomUUID()}${TEMP_SUFFIX}`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
  await syncDirectory(dirname(path));
}

/**
 * A rename is durable only once the folder holding the name is flushed: without it a power cut
 * can bring back the old name (or lose the new one).
 *
 * @param directory the folder whose entries must reach the disk
 * @throws the file system's error, except where folders cannot be synced at all
 */
export async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } catch (error) {
    // Some file systems (and platforms) cannot fsync a folder: there is nothing more to do.
    if (!['EINVAL', 'EISDIR', 'ENOTSUP', 'EPERM'].includes(errorCode(error) ?? '')) throw error;
  } finally {
    await handle.close();
  }
}

/** What a capped read found: the text, the size of a file too large to read, or not a file. */
export type CappedRead = { text: string } | { tooLarge: number } | { notAFile: true };

/**
 * Reads a file as UTF-8, at most `maxBytes` of it: a larger file (or one that keeps growing) is
 * refused with its size, and anything but a regular file (a FIFO would block the read forever, a
 * link to a device would never end) is not opened at all.
 *
 * @param path the file
 * @param maxBytes the largest file that is read
 * @returns its text, or why it was not read
 * @throws the file system's error (ENOENT when it is gone)
 */
export async function readCapped(path: string, maxBytes: number): Promise<CappedRead> {
  if (!(await lstat(path)).isFile()) return { notAFile: true };
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size > maxBytes) return { tooLarge: size };
    // Read to the end, not to the size seen: a file that grew past the cap is refused too.
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      const chunk = Buffer.alloc(Math.min(64 * 1024, maxBytes + 1 - length));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, length);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      length += bytesRead;
      if (length > maxBytes) return { tooLarge: length };
    }
    return { text: Buffer.concat(chunks, length).toString('utf8') };
  } finally {
    await handle.close();
  }
}

/** The `code` of a file system error (`ENOENT`, …), if it has one. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** True when the error says the file (or folder) is not there. */
export function isMissing(error: unknown): boolean {
  return errorCode(error) === 'ENOENT';
}

/**
 * Removes the temp files a writer killed mid-write left behind, once older than `graceMs` (a
 * live writer's temp file is milliseconds old).
 *
 * @param directory the folder to clean (not its subfolders)
 * @param now the current time, ms since the epoch
 * @param graceMs the age from which a temp file is left over
 * @returns how many were removed
 */
export async function removeStaleTempFiles(
  directory: string,
  now: number,
  graceMs: number,
): Promise<number> {
  let removed = 0;
  const names = await readdir(directory).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.endsWith(TEMP_SUFFIX))) {
    const path = join(directory, name);
    const info = await lstat(path).catch(() => undefined);
    if (!info?.isFile() || now - info.mtimeMs <= graceMs) continue;
    await rm(path, { force: true });
    removed++;
  }
  return removed;
}
