/**
 * Taking one entry file for an outbox: an atomic rename to the claim's name (when two processes
 * race for a file, one wins), then a read that trusts nothing: the file's size, kind and shape
 * are all checked before the entry is handed on.
 */
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { type EntryKind, type OutboxEntry, parseEntry } from './outbox-entries.js';
import { errorCode, isMissing, readCapped } from './outbox-files.js';

export type ClaimOutcome =
  /** Claimed and well-formed. */
  | { entry: OutboxEntry }
  /** Claimed, and it can never be processed: why (no caller text). */
  | { poison: string }
  /** Taken by another process first. */
  | { gone: true };

/**
 * @param dir the outbox folder
 * @param file the entry's current name (unclaimed, or an orphaned claim)
 * @param claimed the name it takes when claimed
 * @param kind the kind its name promises
 * @param id the id its name promises
 * @param maxBytes the largest file read
 * @returns the entry, why it is poison, or that another process took it
 * @throws when the rename fails for another reason than the file being gone (e.g. EACCES)
 */
export async function claimEntry(
  dir: string,
  file: string,
  claimed: string,
  kind: EntryKind,
  id: string,
  maxBytes: number,
): Promise<ClaimOutcome> {
  try {
    await rename(join(dir, file), join(dir, claimed));
  } catch (error) {
    if (isMissing(error)) return { gone: true };
    throw error;
  }
  let read;
  try {
    read = await readCapped(join(dir, claimed), maxBytes);
  } catch (error) {
    if (isMissing(error)) return { gone: true }; // taken over from a lease that looked stale
    return { poison: `unreadable (${errorCode(error) ?? 'unknown error'})` };
  }
  if ('notAFile' in read) return { poison: 'not a regular file' };
  if ('tooLarge' in read) {
    return { poison: `too large (${read.tooLarge} bytes; the limit is ${maxBytes})` };
  }
  const parsed = parseEntry(kind, id, read.text);
  return parsed.ok ? { entry: parsed.entry } : { poison: parsed.reason };
}
