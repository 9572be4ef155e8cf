/**
 * One LLM answer cannot flood a caller's memory: it keeps at most a few items per turn of input
 * and a fixed number per answer, who the caller is first, then the most confident.
 */
import type { MemoryInput } from '../../store/memory-store.js';
import { identityRank } from './identity-first.js';

/** Most items kept from one extraction answer, however many turns it covers. */
export const MAX_ITEMS_PER_ANSWER = 20;
/** Most items kept per turn of input: one sentence rarely holds more durable facts. */
export const MAX_ITEMS_PER_TURN = 5;

/**
 * @param items an answer's valid items
 * @param turns how many turns the answer was extracted from
 * @returns the items kept (identity first, then by confidence) and how many went over the bound
 */
export function boundAnswer(
  items: readonly MemoryInput[],
  turns: number,
): { kept: MemoryInput[]; overBound: number } {
  const limit = Math.min(MAX_ITEMS_PER_ANSWER, MAX_ITEMS_PER_TURN * Math.max(1, turns));
  if (items.length <= limit) return { kept: [...items], overBound: 0 };
  const kept = items
    .map((item, index) => ({ item, index }))
    .sort(
      (a, b) =>
        identityRank(a.item) - identityRank(b.item) ||
        b.item.confidence - a.item.confidence ||
        a.index - b.index,
    )
    .slice(0, limit)
    .map(({ item }) => item);
  return { kept, overBound: items.length - limit };
}
