/**
 * Why an item of an LLM answer was not kept, counted per reason: operators see the reasons in
 * one log line per batch and in stats, never only a total.
 */
import type { z } from 'zod';

export type DropReason =
  | 'not-an-object'
  | 'unknown-category'
  | 'bad-key'
  | 'bad-value'
  | 'value-too-long'
  | 'bad-confidence'
  | 'over-bound';

export type DropCounts = Partial<Record<DropReason, number>>;

/**
 * @param error why an item failed the extraction schema
 * @returns the reason, from the first field that failed
 */
export function dropReasonOf(error: z.ZodError): DropReason {
  const issue = error.issues[0];
  switch (issue?.path[0]) {
    case 'category':
      return 'unknown-category';
    case 'key':
      return 'bad-key';
    case 'value':
      return issue.code === 'too_big' ? 'value-too-long' : 'bad-value';
    case 'confidence':
      return 'bad-confidence';
    default:
      return 'not-an-object';
  }
}

/** Adds `count` drops for `reason` to `counts` (in place). */
export function countDrop(counts: DropCounts, reason: DropReason, count = 1): void {
  if (count > 0) counts[reason] = (counts[reason] ?? 0) + count;
}

/** Adds every count of `from` to `into` (in place). */
export function addDrops(into: DropCounts, from: DropCounts): void {
  for (const [reason, count] of Object.entries(from) as [DropReason, number][]) {
    countDrop(into, reason, count);
  }
}

/** Total drops across reasons. */
export function totalDrops(counts: DropCounts): number {
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}
