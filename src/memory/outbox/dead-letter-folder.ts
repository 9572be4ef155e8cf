/**
 * `outbox/dead-letter`: where an entry goes when it can never be processed, kept as it was
 * (byte for byte) with the reason beside it, so that nothing is lost and an operator can replay it
 * once the cause is fixed (src/cli/dead-letters.ts).
 *
 *   dead-letter/turn-<id>.json               the entry's file, moved here unchanged
 *   dead-letter/turn-<id>.json.reason.json   { reason, at, origin }
 *
 * A name already taken gets a short random suffix (`turn-<id>.json.1a2b3c4d`), never overwritten.
 */
import { randomUUID } from 'node:crypto';
import { access, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { ENTRY_NAME_SOURCE } from './outbox-entries.js';
import { isMissing, syncDirectory, writeFileDurably } from './outbox-files.js';

export const DEAD_LETTER_FOLDER = 'dead-letter';
export const REASON_SUFFIX = '.reason.json';

/** A dead letter's file name: the entry's name, maybe with a suffix; groups: name, kind, id. */
export const DEAD_LETTER_NAME = new RegExp(String.raw`^(${ENTRY_NAME_SOURCE})(?:\.[0-9a-f]{8})?$`);

/** Who set an entry aside: the outbox (the file could not be read) or the processor (refused). */
export type DeadLetterOrigin = 'outbox' | 'processor';

export interface DeadLetterReason {
  reason: string;
  /** ISO time it was set aside. */
  at: string;
  origin: DeadLetterOrigin;
}

/**
 * Moves an outbox file into the dead-letter folder, unchanged, and records why; both moves are
 * durable when this resolves.
 *
 * @param outboxDir the outbox folder
 * @param file the file's current name in it (a claim, usually)
 * @param entryName the entry's own name (`turn-<id>.json`), which the dead letter takes
 * @param why the reason (no caller text), when and by whom
 * @returns the dead letter's name in the dead-letter folder
 * @throws the file system's error (ENOENT when the file is gone)
 */
export async function setAside(
  outboxDir: string,
  file: string,
  entryName: string,
  why: DeadLetterReason,
): Promise<string> {
  const deadDir = join(outboxDir, DEAD_LETTER_FOLDER);
  let name = entryName;
  if (await exists(join(deadDir, name))) name = `${entryName}.${randomUUID().slice(0, 8)}`;
  // The move first: it needs no disk space, so a full disk still gets the entry out of the way.
  await rename(join(outboxDir, file), join(deadDir, name));
  await syncDirectory(outboxDir);
  await writeFileDurably(join(deadDir, `${name}${REASON_SUFFIX}`), JSON.stringify(why));
  return name;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
}
