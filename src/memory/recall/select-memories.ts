/**
 * What goes in the prompt for one turn, whatever the caller's history: the pinned facts (who
 * they are, what they asked to remember) under their own bound, then the facts most relevant to
 * the turn (full-text, BM25), then the newest, up to `topK` and a token budget. Local and
 * synchronous: no network inside a voice turn.
 */
import type { StoredMemory } from '../../store/memory-store.js';
import { boundedPinned } from './pinned.js';
import { memoryTokens } from './prompt-tokens.js';
import { RecallIndex } from './recall-index.js';

/** The bounds of one turn's selection; each absent one keeps its production default. */
export interface SelectMemoriesOptions {
  /**
   * Facts besides the pinned ones: the most relevant to the turn, then the newest. `0`: pinned
   * facts only.
   * @default 8
   */
  topK?: number;
  /**
   * Most pinned facts, kept in this order: how to address the caller, then what they asked to
   * remember, then other identity facts, newest first within each. `0`: none.
   * @default 20
   */
  maxPinned?: number;
  /**
   * Most estimated tokens the pinned facts take (as printed: see prompt-tokens.ts). `0`: none.
   * @default 600
   */
  maxPinnedTokens?: number;
  /**
   * Most estimated tokens the whole selection takes, pinned facts included: a relevant fact
   * that does not fit is passed over for a shorter one.
   * @default 1200
   */
  maxTokens?: number;
}

/** Production's bounds. */
export const SELECTION_DEFAULTS = {
  topK: 8,
  maxPinned: 20,
  maxPinnedTokens: 600,
  maxTokens: 1_200,
} as const satisfies Required<SelectMemoriesOptions>;

/**
 * Selects from an index already built (the per-turn path: the index lives as long as the call).
 * @param index the caller's memories, indexed
 * @param turnText what the caller just said; empty: pinned facts and the newest
 * @param options bounds; an absent one keeps its default
 * @returns pinned facts first (identity first), then the relevant ones, most relevant first
 */
export function selectFromIndex(
  index: RecallIndex,
  turnText: string,
  options: SelectMemoriesOptions = {},
): StoredMemory[] {
  const topK = options.topK ?? SELECTION_DEFAULTS.topK;
  const maxTokens = options.maxTokens ?? SELECTION_DEFAULTS.maxTokens;
  const pinned = boundedPinned(
    index.pinned(),
    options.maxPinned ?? SELECTION_DEFAULTS.maxPinned,
    Math.min(maxTokens, options.maxPinnedTokens ?? SELECTION_DEFAULTS.maxPinnedTokens),
  );
  const chosen = new Set<StoredMemory>(pinned);
  let tokens = pinned.reduce((sum, m) => sum + memoryTokens(m), 0);
  const extra: StoredMemory[] = [];
  const take = (memory: StoredMemory) => {
    if (extra.length >= topK || chosen.has(memory)) return;
    const cost = memoryTokens(memory);
    if (tokens + cost > maxTokens) return;
    chosen.add(memory);
    extra.push(memory);
    tokens += cost;
  };
  // A few more candidates than slots: one that is too long leaves room for the next.
  for (const memory of index.search(turnText, topK * 2, (m) => chosen.has(m))) take(memory);
  // Recency breaks the tie between facts the turn does not touch at all.
  for (const memory of index.newest()) {
    if (extra.length >= topK) break;
    take(memory);
  }
  return [...pinned, ...extra];
}

/**
 * The selection as a plain function, for evaluating it on its own. It builds an index on each
 * call (about 75 ms at 5,000 facts: bench recall-at-scale, `backgroundBuildMs`); a call keeps
 * one `RecallIndex` and uses `selectFromIndex`.
 * @param memories a caller's memories, in any order
 * @param turnText what the caller just said
 * @param options bounds; an absent one keeps its default
 * @returns pinned facts first (identity first), then up to `topK` others, most relevant first,
 *   within `maxTokens`
 */
export function selectMemories(
  memories: readonly StoredMemory[],
  turnText: string,
  options: SelectMemoriesOptions = {},
): StoredMemory[] {
  return selectFromIndex(RecallIndex.of(memories), turnText, options);
}
