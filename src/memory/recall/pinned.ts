/**
 * Pinned facts go in the prompt on every turn, whatever the turn is about: who the caller is
 * (their name, how to address them: the `identity` category) and anything they asked to remember
 * ("remember that …": `source: 'explicit'`). No column marks them; both fields already say it.
 */
import type { MemoryInput, StoredMemory } from '../../store/memory-store.js';
import { memoryTokens } from './prompt-tokens.js';

/**
 * @param memory a memory
 * @returns whether it is pinned: identity, or asked to be remembered
 */
export function isPinned(memory: Pick<MemoryInput, 'category' | 'source'>): boolean {
  return memory.category === 'identity' || memory.source === 'explicit';
}

/**
 * Identity keys that say how to address the caller, whole keys only: "home_address", "job_title"
 * or "callback_number" say nothing about it.
 */
const ADDRESS_KEY =
  /^(?:name|(?:first|last|full|preferred|nick)_?name|pronouns?|title|honorific|form_of_address)$/;

/**
 * Which pinned facts a full bound keeps first: how to address the caller, then what they asked
 * to remember (only they can add those), then other identity facts (an extraction can add many).
 */
function rank(memory: StoredMemory): number {
  if (memory.category === 'identity' && ADDRESS_KEY.test(memory.key)) return 0;
  return memory.source === 'explicit' ? 1 : 2;
}

/**
 * The pinned facts that fit their own bound. A flood of pinned facts (an extraction that calls
 * everything identity) cannot grow the prompt past it, nor push out the caller's name.
 * @param pinned pinned memories, in any order
 * @param maxFacts most facts kept (at least 0)
 * @param maxTokens most estimated tokens kept (at least 0)
 * @returns the kept ones: how to address the caller, then what they asked to remember, then
 *   other identity facts; newest first within each
 */
export function boundedPinned(
  pinned: readonly StoredMemory[],
  maxFacts: number,
  maxTokens: number,
): StoredMemory[] {
  const ordered = [...pinned].sort(
    (a, b) => rank(a) - rank(b) || b.updatedAt.getTime() - a.updatedAt.getTime(),
  );
  const kept: StoredMemory[] = [];
  let tokens = 0;
  for (const memory of ordered) {
    if (kept.length >= maxFacts) break;
    const cost = memoryTokens(memory);
    if (tokens + cost > maxTokens) continue;
    kept.push(memory);
    tokens += cost;
  }
  return kept;
}
