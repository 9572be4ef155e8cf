/**
 * Who the caller is comes first. Wherever memories are cut to a bound (an LLM answer, the
 * session's instructions, a spoken recall), the facts that say how to address the caller are
 * kept before anything else, so no flood of other facts can push them out.
 */
import type { MemoryCategory } from '../../store/memory-store.js';

/** Keys that say how to address the caller. */
const ADDRESSING_KEYS = new Set([
  'name',
  'full_name',
  'first_name',
  'last_name',
  'preferred_name',
  'nickname',
  'pronouns',
  'title',
  'form_of_address',
  'how_to_address',
  'address_as',
]);

interface Keyed {
  category: MemoryCategory;
  key: string;
}

/**
 * @param memory a memory or an extracted item
 * @returns 0 for how to address the caller, 1 for another identity fact, 2 for anything else
 */
export function identityRank(memory: Keyed): 0 | 1 | 2 {
  if (memory.category !== 'identity') return 2;
  return ADDRESSING_KEYS.has(memory.key) ? 0 : 1;
}

/**
 * @param memories in their own order of preference (e.g. most recent first)
 * @returns the same memories, identity first; otherwise in the order given (a stable sort)
 */
export function identityFirst<T extends Keyed>(memories: readonly T[]): T[] {
  return memories
    .map((memory, index) => ({ memory, index }))
    .sort((a, b) => identityRank(a.memory) - identityRank(b.memory) || a.index - b.index)
    .map(({ memory }) => memory);
}
