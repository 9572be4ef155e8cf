/**
 * What of a turn is searched, so a search of 5,000 facts stays within the turn's budget whatever
 * the caller said: the end of what was said (a long turn's last words are what it is about), a
 * bounded number of words, no fuzzy matching past a short question, and no word that too many
 * facts share.
 */
import MiniSearch from 'minisearch';
import type { StoredMemory } from '../../store/memory-store.js';
import { recallTerm } from './recall-terms.js';

const TURN_TAIL_CHARS = 200;
const MAX_TURN_TERMS = 24;
const FUZZY_TURN_CHARS = 80;
/**
 * A word more facts share than this (a fifth of them, and at least 200) is left out of a turn's
 * search: it tells no fact apart (BM25 weighs it near zero) and scoring thousands of facts for it
 * would pass the turn's budget. A turn made only of such words gets the newest facts.
 */
const COMMON_SHARE = 5;
const MIN_COMMON_FACTS = 200;

/** The search library's own word splitter, used to count which facts hold which words. */
const tokenize = MiniSearch.getDefault('tokenize') as (text: string) => string[];

/**
 * @param text what the caller said
 * @returns the search options for it: fuzzy matching only for a short question
 */
export const searchOptionsFor = (text: string): { fuzzy?: false } =>
  text.length > FUZZY_TURN_CHARS ? { fuzzy: false } : {};

/** How many indexed facts hold each stem: what tells a common word from a telling one. */
export class StemCounts {
  readonly #factsWith = new Map<string, number>();

  /**
   * @param memory a fact entering (+1) or leaving (-1) the full-text index
   * @param delta which of the two
   */
  count(memory: Pick<StoredMemory, 'key' | 'value'>, delta: 1 | -1): void {
    for (const stem of stemsOf(memory)) {
      const n = (this.#factsWith.get(stem) ?? 0) + delta;
      if (n > 0) this.#factsWith.set(stem, n);
      else this.#factsWith.delete(stem);
    }
  }

  /** Forgets every count (everything was forgotten). */
  clear(): void {
    this.#factsWith.clear();
  }

  /**
   * @param text what the caller said
   * @param indexed how many facts the full-text index holds
   * @returns the words searched: the turn's last ones, without those too many facts share
   */
  queryOf(text: string, indexed: number): string {
    const common = Math.max(MIN_COMMON_FACTS, indexed / COMMON_SHARE);
    return turnWords(text)
      .filter((word) => {
        const stem = recallTerm(word);
        return stem !== null && (this.#factsWith.get(stem) ?? 0) <= common;
      })
      .join(' ');
  }
}

/**
 * @param memory a fact
 * @returns the stems its key and value hold, each once
 */
function stemsOf(memory: Pick<StoredMemory, 'key' | 'value'>): Set<string> {
  const stems = new Set<string>();
  for (const word of [...tokenize(memory.key), ...tokenize(memory.value)]) {
    const stem = recallTerm(word);
    if (stem) stems.add(stem);
  }
  return stems;
}

/**
 * @param text what the caller said
 * @returns the words searched: from its last `TURN_TAIL_CHARS` characters (whole words), at most
 *   `MAX_TURN_TERMS` of them
 */
function turnWords(text: string): string[] {
  const trimmed = text.trim();
  const tail = trimmed.length > TURN_TAIL_CHARS ? trimmed.slice(-TURN_TAIL_CHARS) : trimmed;
  const words = tokenize(tail).filter((word) => word !== '');
  // A word cut at the start of the tail is dropped; then the last words, up to the cap.
  if (tail !== trimmed) words.shift();
  return words.slice(-MAX_TURN_TERMS);
}
