/**
 * The operator's side of `outbox/dead-letter`: what is there and why (never what a caller said),
 * and the way back: well-formed entries return to the outbox, unclaimed, and the next job process
 * replays them; malformed ones stay, each with the reason it cannot go back.
 */
import { readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DEAD_LETTER_FOLDER,
  DEAD_LETTER_NAME,
  type DeadLetterReason,
  REASON_SUFFIX,
} from './dead-letter-folder.js';
import { type EntryKind, type OutboxEntry, parseEntry } from './outbox-entries.js';
import { isMissing, readCapped, syncDirectory, writeFileDurably } from './outbox-files.js';
import { MAX_ENTRY_BYTES } from './outbox.js';

interface DeadLetter {
  /** Its file name in the dead-letter folder. */
  file: string;
  /** The entry's own name (`turn-<id>.json`): its name back in the outbox. */
  entryName: string;
  kind: EntryKind;
  id: string;
}

export interface DeadLetterListing {
  count: number;
  turns: number;
  batches: number;
  /** How many were set aside for each reason. */
  reasons: Record<string, number>;
  /** ISO times the oldest and newest were set aside (absent when there is none). */
  oldest?: string;
  newest?: string;
}

export interface ReplayReport {
  /** Back in the outbox, unclaimed: the next job process replays them. */
  replayed: number;
  /** Still in the dead-letter folder. */
  kept: number;
  /** Why they were kept, with how many each. */
  keptReasons: Record<string, number>;
}

/**
 * @param outboxDir the outbox folder (`<MEMORY_DATA_DIR>/outbox`)
 * @returns how many dead letters there are, of which kind, why, and since when
 * @throws when the folder exists but cannot be read
 */
export async function listDeadLetters(outboxDir: string): Promise<DeadLetterListing> {
  const letters = await deadLetters(outboxDir);
  const listing: DeadLetterListing = { count: 0, turns: 0, batches: 0, reasons: {} };
  for (const letter of letters) {
    const why = await reasonOf(outboxDir, letter);
    listing.count++;
    if (letter.kind === 'turn') listing.turns++;
    else listing.batches++;
    listing.reasons[why.reason] = (listing.reasons[why.reason] ?? 0) + 1;
    const at = await setAsideAt(outboxDir, letter, why.at);
    if (at !== undefined) {
      if (listing.oldest === undefined || at < listing.oldest) listing.oldest = at;
      if (listing.newest === undefined || at > listing.newest) listing.newest = at;
    }
  }
  return listing;
}

/**
 * Moves every well-formed dead letter back into the outbox as an unclaimed entry. Safe while
 * workers run: each move is one atomic rename, and an entry already in the outbox is left alone.
 *
 * @param outboxDir the outbox folder
 * @param filter `reasonIncludes`: only the dead letters whose reason contains this text (e.g.
 *   the LLM errors, once its key is fixed); the others are not counted
 * @returns how many went back, how many stayed and why
 * @throws when a folder cannot be read or written
 */
export async function replayDeadLetters(
  outboxDir: string,
  filter: { reasonIncludes?: string } = {},
): Promise<ReplayReport> {
  const deadDir = join(outboxDir, DEAD_LETTER_FOLDER);
  const report: ReplayReport = { replayed: 0, kept: 0, keptReasons: {} };
  const keep = (why: string) => {
    report.kept++;
    report.keptReasons[why] = (report.keptReasons[why] ?? 0) + 1;
  };
  const inOutbox = new Set(
    (await readdir(outboxDir).catch(() => [] as string[])).map((f) => f.split('.json')[0]),
  );
  for (const letter of await deadLetters(outboxDir)) {
    const path = join(deadDir, letter.file);
    if (filter.reasonIncludes !== undefined) {
      const { reason } = await reasonOf(outboxDir, letter);
      if (!reason.includes(filter.reasonIncludes)) continue;
    }
    const checked = await check(path, letter).catch((error: unknown) =>
      isMissing(error) ? undefined : Promise.reject(error),
    );
    if (checked === undefined) continue; // replayed by someone else meanwhile
    if ('why' in checked) {
      keep(checked.why);
      continue;
    }
    const base = letter.entryName.slice(0, -'.json'.length);
    if (inOutbox.has(base)) {
      keep('already in the outbox');
      continue;
    }
    const target = join(outboxDir, letter.entryName);
    if (checked.rewrite) {
      // An older dead letter wraps the entry with its reason: the outbox gets the entry alone.
      await writeFileDurably(target, JSON.stringify(entryValue(checked.entry)));
      await rm(path, { force: true });
    } else {
      await rename(path, target);
    }
    inOutbox.add(base);
    await rm(`${path}${REASON_SUFFIX}`, { force: true });
    report.replayed++;
  }
  if (report.replayed > 0) {
    await syncDirectory(outboxDir);
    await syncDirectory(deadDir);
  }
  return report;
}

/** The dead letters in the folder (a missing folder holds none). */
async function deadLetters(outboxDir: string): Promise<DeadLetter[]> {
  let files: string[];
  try {
    files = await readdir(join(outboxDir, DEAD_LETTER_FOLDER));
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
  const letters: DeadLetter[] = [];
  for (const file of files.sort()) {
    const match = DEAD_LETTER_NAME.exec(file);
    if (match)
      letters.push({ file, entryName: match[1]!, kind: match[2] as EntryKind, id: match[3]! });
  }
  return letters;
}

type Checked = { entry: OutboxEntry; rewrite: boolean } | { why: string };

/** Whether a dead letter can go back: as it is, or unwrapped from an older dead letter's wrapper. */
async function check(path: string, letter: DeadLetter): Promise<Checked> {
  const read = await readCapped(path, MAX_ENTRY_BYTES);
  if ('notAFile' in read) return { why: 'not a regular file' };
  if ('tooLarge' in read) return { why: `too large (${read.tooLarge} bytes)` };
  const parsed = parseEntry(letter.kind, letter.id, read.text);
  if (parsed.ok) return { entry: parsed.entry, rewrite: false };
  const wrapped = unwrap(read.text, letter.kind);
  if (wrapped !== undefined) {
    const inner = parseEntry(letter.kind, letter.id, wrapped);
    if (inner.ok) return { entry: inner.entry, rewrite: true };
  }
  return { why: parsed.reason };
}

/** Why a dead letter was set aside: its reason file, or (older ones) the reason inside it. */
async function reasonOf(
  outboxDir: string,
  letter: DeadLetter,
): Promise<{ reason: string; at?: string }> {
  const path = join(outboxDir, DEAD_LETTER_FOLDER, letter.file);
  try {
    const why = JSON.parse(
      await readFile(`${path}${REASON_SUFFIX}`, 'utf8'),
    ) as Partial<DeadLetterReason>;
    if (typeof why.reason === 'string') {
      return typeof why.at === 'string'
        ? { reason: why.reason, at: why.at }
        : { reason: why.reason };
    }
  } catch {
    // no reason file (or an unreadable one): an older dead letter may hold its reason
  }
  const read = await readCapped(path, MAX_ENTRY_BYTES).catch(() => undefined);
  if (read && 'text' in read) {
    try {
      const old = JSON.parse(read.text) as { reason?: unknown };
      if (typeof old.reason === 'string') return { reason: old.reason };
    } catch {
      // not JSON: no reason recorded
    }
  }
  return { reason: 'no reason recorded' };
}

/** When it was set aside: its reason's time, else the file's (older dead letters). */
async function setAsideAt(outboxDir: string, letter: DeadLetter, at: string | undefined) {
  if (at !== undefined) return at;
  const info = await stat(join(outboxDir, DEAD_LETTER_FOLDER, letter.file)).catch(() => undefined);
  return info?.mtime.toISOString();
}

/** An older dead letter is `{ reason, turn }` or `{ reason, batch }`: the entry's JSON text. */
function unwrap(text: string, kind: EntryKind): string | undefined {
  try {
    const value = (JSON.parse(text) as Record<string, unknown> | null)?.[kind];
    return value === undefined ? undefined : JSON.stringify(value);
  } catch {
    return undefined;
  }
}

function entryValue(entry: OutboxEntry): unknown {
  return entry.kind === 'turn' ? entry.turn : entry.batch;
}
