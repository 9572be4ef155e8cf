/**
 * Reading one LLM answer: JSON with a `memories` list, each item checked on its own. A bad item
 * is dropped and counted with its reason; an answer that is not the memories JSON at all is an
 * `invalid-output` failure (retried, then given up on).
 */
import type { MemoryInput } from '../../store/memory-store.js';
import { type DropCounts, countDrop, dropReasonOf } from './dropped-items.js';
import { ExtractionError } from './extraction-error.js';
import { extractedMemorySchema } from './extraction-prompt.js';

/** Items of one answer that are looked at; the rest is dropped unread ('over-bound'). */
export const MAX_ITEMS_EXAMINED = 1_000;

/** The usable part of one answer. */
export interface ParsedAnswer {
  /** Valid items, one per (category, key): the last one given wins. */
  items: MemoryInput[];
  /** Items that failed the schema (over-bound ones are in `dropped` only). */
  droppedInvalid: number;
  /** Items not kept, per reason (the processor logs them once per batch). */
  dropped: DropCounts;
}

/**
 * @param content the answer's message content
 * @returns the valid items and what was dropped, per reason
 * @throws {@link ExtractionError} (`invalid-output`) when it is not JSON with a memories list
 */
export function parseAnswer(content: string): ParsedAnswer {
  let body: unknown;
  try {
    body = JSON.parse(content);
  } catch (error) {
    // A malformed answer may be a fluke: retried, then given up on.
    throw new ExtractionError('the model answered with invalid JSON', 'invalid-output', {
      cause: error,
    });
  }
  const list = (body as { memories?: unknown })?.memories;
  if (!Array.isArray(list))
    throw new ExtractionError('the model answer has no memories list', 'invalid-output');
  const items: MemoryInput[] = [];
  const dropped: DropCounts = {};
  let invalid = 0;
  for (const raw of list.slice(0, MAX_ITEMS_EXAMINED)) {
    const parsed = extractedMemorySchema.safeParse(raw);
    if (parsed.success) items.push({ ...parsed.data, source: 'extraction' });
    else {
      invalid++;
      countDrop(dropped, dropReasonOf(parsed.error));
    }
  }
  countDrop(dropped, 'over-bound', list.length - MAX_ITEMS_EXAMINED);
  return { items: lastPerKey(items), droppedInvalid: invalid, dropped };
}

/** The last value for a (category, key) wins within one answer. */
function lastPerKey(items: MemoryInput[]): MemoryInput[] {
  return [...new Map(items.map((i) => [`${i.category}/${i.key}`, i])).values()];
}
