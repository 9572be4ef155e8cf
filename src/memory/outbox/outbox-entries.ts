/**
 * What an outbox file holds, and the check every file read passes before the processor sees it:
 * a file that is empty, cut short, garbage or of the wrong shape is named with a reason (that
 * never quotes the file's text, which is what a caller said) instead of being trusted.
 */
import { z } from 'zod';
import { MEMORY_CATEGORIES, type MemoryInput } from '../../store/memory-store.js';

export interface Turn {
  id: string;
  userId: string;
  userText: string;
  assistantText: string;
  at: string;
}

export interface PendingBatch {
  id: string;
  userId: string;
  turnIds: string[];
  items: MemoryInput[];
  /** ISO time the earliest turn behind it was heard: a forget after it fences the batch out. */
  heardAt: string;
}

export type OutboxEntry = { kind: 'turn'; turn: Turn } | { kind: 'batch'; batch: PendingBatch };
export type EntryKind = OutboxEntry['kind'];

/** Ids become file names (`turn-<id>.json`): nothing that could leave the folder. */
export const ENTRY_ID = /^[\w-]{1,100}$/;

/**
 * `turn-<id>.json` or `batch-<id>.json`, the name of an unclaimed entry (groups: kind, id): the
 * source of every pattern that names an entry's file (claimed, dead-lettered).
 */
export const ENTRY_NAME_SOURCE = String.raw`(turn|batch)-([\w-]{1,100})\.json`;

/** An entry's file, unclaimed or claimed (`<name>.<owner>.claim`); groups: name, kind, id, owner. */
export const ENTRY_FILE = new RegExp(
  String.raw`^(${ENTRY_NAME_SOURCE})(?:\.([\w-]{1,100})\.claim)?$`,
);

/** The largest entry read: far above a real one (a turn's text, a bounded batch of facts). */
export const MAX_ENTRY_BYTES = 1024 * 1024;

/**
 * A batch written before `heardAt` existed: the earliest possible time, so that any forget the
 * caller ever asked for fences it out (forgetting must stick; an upgrade must not undo it).
 */
export const LEGACY_HEARD_AT = new Date(0).toISOString();

const entryId = z.string().regex(ENTRY_ID, 'must be a short id of letters, digits, _ and -');
const isoTime = z.iso.datetime({ offset: true });

const memoryInputSchema = z.object({
  category: z.enum(MEMORY_CATEGORIES),
  key: z.string().min(1),
  value: z.string().min(1),
  confidence: z.number().min(0).max(1),
  source: z.enum(['extraction', 'explicit']),
});

const turnSchema = z.object({
  id: entryId,
  userId: z.string().min(1),
  userText: z.string(),
  assistantText: z.string(),
  at: isoTime,
});

const batchSchema = z.object({
  id: entryId,
  userId: z.string().min(1),
  turnIds: z.array(entryId),
  items: z.array(memoryInputSchema),
  heardAt: isoTime.default(LEGACY_HEARD_AT),
});

export type ParsedEntry = { ok: true; entry: OutboxEntry } | { ok: false; reason: string };

/**
 * Checks an outbox file's text against the shape its name promises.
 *
 * @param kind what the file name says it holds
 * @param id the id in the file name: the entry inside must carry the same one (else removing it
 *   by id would leave the file behind, to be replayed again and again)
 * @param text the file's content
 * @returns the entry, or why the file can never be processed (no caller text in it)
 */
export function parseEntry(kind: EntryKind, id: string, text: string): ParsedEntry {
  if (text.trim() === '') return { ok: false, reason: 'empty file' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // Not the parser's message: it quotes the text around the error.
    return { ok: false, reason: 'not valid JSON (cut short or garbage)' };
  }
  if (kind === 'turn') {
    const result = turnSchema.safeParse(json);
    if (!result.success) return wrongShape(kind, result.error);
    const turn: Turn = result.data;
    return turn.id === id ? { ok: true, entry: { kind, turn } } : otherId(kind);
  }
  const result = batchSchema.safeParse(json);
  if (!result.success) return wrongShape(kind, result.error);
  const batch: PendingBatch = result.data;
  return batch.id === id ? { ok: true, entry: { kind, batch } } : otherId(kind);
}

function otherId(kind: EntryKind): ParsedEntry {
  return { ok: false, reason: `the ${kind} inside has another id than its file name` };
}

/** The first few problems, by path; zod's messages name types and limits, never the values. */
function wrongShape(kind: EntryKind, error: z.ZodError): ParsedEntry {
  const problems = error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
  return { ok: false, reason: `wrong shape for a ${kind}: ${problems}` };
}
