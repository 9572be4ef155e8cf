/**
 * One caller's memories, indexed in the job process for full-text search (`minisearch`, BM25):
 * loaded once at session start, searched on every turn without a network round trip, kept
 * current as facts are stored and forgotten during the call.
 *
 * Building the full-text index of 5,000 facts takes tens of milliseconds, so it is not done at
 * session start (the caller is waiting for the greeting): `buildSome` indexes a slice at a time
 * while the call starts, and a search indexes what is left first. Everything else (pinned,
 * newest) needs no full-text index.
 */
import MiniSearch from 'minisearch';
import type { MemoryInput, StoredMemory } from '../../store/memory-store.js';
import { isPinned } from './pinned.js';
import { recallTerm } from './recall-terms.js';

/** A memory's identity in the store: one current value per (category, key). */
const idOf = (memory: Pick<MemoryInput, 'category' | 'key'>) => `${memory.category}/${memory.key}`;

interface IndexedFact {
  id: string;
  key: string;
  value: string;
}

/** Newest first; equal times keep their order (a stable sort). */
const newestFirst = (a: StoredMemory, b: StoredMemory) =>
  b.updatedAt.getTime() - a.updatedAt.getTime();

export class RecallIndex {
  readonly #memories = new Map<string, StoredMemory>();
  readonly #search = new MiniSearch<IndexedFact>({
    fields: ['key', 'value'],
    processTerm: recallTerm,
    searchOptions: {
      // A word of the fact's key ("sister_name") counts a little more than one of its value.
      boost: { key: 1.5 },
      // "wed" finds "wedding"; one letter off finds a misheard word (spoken turns are transcripts).
      prefix: (term) => term.length >= 4,
      fuzzy: (term) => (term.length >= 6 ? 1 : false),
      weights: { prefix: 0.5, fuzzy: 0.3 },
    },
  });
  /** Newest first; rebuilt on the first read after a change. */
  #byRecency: StoredMemory[] | undefined;
  /** Ids in the full-text index; the others in `#pending` are still to be added. */
  readonly #indexed = new Set<string>();
  #pending: string[] = [];
  #cursor = 0;

  /**
   * @param memories the caller's memories (a later one replaces an earlier one with its key)
   * @returns an index holding them
   */
  static of(memories: readonly StoredMemory[]): RecallIndex {
    const index = new RecallIndex();
    index.add(memories);
    return index;
  }

  /** Memories held. */
  get size(): number {
    return this.#memories.size;
  }

  /**
   * Adds memories; one with the category and key of a held one replaces it (a new value
   * supersedes the old, as in the store).
   * @param memories what was loaded or just stored
   */
  add(memories: readonly StoredMemory[]): void {
    for (const memory of memories) {
      const id = idOf(memory);
      this.#memories.set(id, memory);
      if (this.#indexed.has(id)) {
        this.#search.discard(id);
        this.#indexed.delete(id);
      }
      this.#pending.push(id);
    }
    this.#byRecency = undefined;
  }

  /** Whether facts wait to enter the full-text index. */
  get building(): boolean {
    return this.#cursor < this.#pending.length;
  }

  /**
   * Adds up to `count` waiting facts to the full-text index (a search adds all of them first).
   * @param count most facts to index now (Infinity: all)
   * @returns whether facts still wait
   */
  buildSome(count: number): boolean {
    const end = Math.min(this.#pending.length, this.#cursor + count);
    for (; this.#cursor < end; this.#cursor++) {
      const id = this.#pending[this.#cursor]!;
      const memory = this.#memories.get(id);
      // Forgotten since, or already indexed (added twice while waiting).
      if (!memory || this.#indexed.has(id)) continue;
      this.#search.add({ id, key: memory.key, value: memory.value });
      this.#indexed.add(id);
    }
    if (!this.building) {
      this.#pending = [];
      this.#cursor = 0;
    }
    return this.building;
  }

  /**
   * Removes memories at once, as the caller's forget does in the store (a key goes in every
   * category).
   * @param keys the keys forgotten; none or empty = everything
   * @returns how many were removed
   */
  remove(keys?: readonly string[]): number {
    const before = this.#memories.size;
    if (!keys || keys.length === 0) {
      this.#memories.clear();
      this.#search.removeAll();
      this.#indexed.clear();
      this.#pending = [];
      this.#cursor = 0;
    } else {
      const forgotten = new Set(keys);
      for (const [id, memory] of this.#memories) {
        if (!forgotten.has(memory.key)) continue;
        this.#memories.delete(id);
        if (this.#indexed.delete(id)) this.#search.discard(id);
      }
    }
    this.#byRecency = undefined;
    return before - this.#memories.size;
  }

  /** @returns whether a memory with this category and key is held */
  has(memory: Pick<MemoryInput, 'category' | 'key'>): boolean {
    return this.#memories.has(idOf(memory));
  }

  /** @returns whether this very memory is still held (not forgotten, not superseded) */
  holds(memory: StoredMemory): boolean {
    return this.#memories.get(idOf(memory)) === memory;
  }

  /** @returns every memory held, newest first */
  newest(): readonly StoredMemory[] {
    this.#byRecency ??= [...this.#memories.values()].sort(newestFirst);
    return this.#byRecency;
  }

  /** @returns the pinned memories held (identity, asked to remember), newest first */
  pinned(): StoredMemory[] {
    return this.newest().filter(isPinned);
  }

  /**
   * Full-text search, most relevant first; equal scores: the newer first.
   * @param text what the caller said (or asked about)
   * @param limit most results (at least 0)
   * @param skip memories not to return (e.g. already in the prompt)
   * @returns the matching memories, at most `limit`
   */
  search(text: string, limit: number, skip?: (memory: StoredMemory) => boolean): StoredMemory[] {
    if (limit <= 0 || text.trim() === '') return [];
    this.buildSome(Infinity);
    const ranked = this.#search
      .search(text)
      .map((hit) => ({ memory: this.#memories.get(hit.id as string), score: hit.score }))
      .filter((hit): hit is { memory: StoredMemory; score: number } => hit.memory !== undefined)
      .sort((a, b) => b.score - a.score || newestFirst(a.memory, b.memory));
    const found: StoredMemory[] = [];
    for (const { memory } of ranked) {
      if (found.length >= limit) break;
      if (!skip?.(memory)) found.push(memory);
    }
    return found;
  }
}
