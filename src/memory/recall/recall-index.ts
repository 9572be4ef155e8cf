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
import { StemCounts, searchOptionsFor } from './turn-query.js';

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

/**
 * One caller's memories: a map by (category, key), the pinned ones apart, a newest-first list
 * kept in order as facts arrive, and the full-text index built in slices. Synchronous and local:
 * a call keeps one for its whole length (see `LiveRecall`).
 */
export class RecallIndex {
  readonly #memories = new Map<string, StoredMemory>();
  /** The pinned memories (identity, asked to remember), by id: a turn never filters them all. */
  readonly #pinned = new Map<string, StoredMemory>();
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
  /** Newest first; a fact stored during the call goes to its head; rebuilt only when unknown. */
  #byRecency: StoredMemory[] | undefined;
  /** Ids in the full-text index; the others in `#pending` are still to be added. */
  readonly #indexed = new Set<string>();
  /** How many indexed facts hold each stem. */
  readonly #stems = new StemCounts();
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
      const replaced = this.#memories.get(id);
      this.#memories.set(id, memory);
      if (isPinned(memory)) this.#pinned.set(id, memory);
      else this.#pinned.delete(id);
      if (this.#indexed.has(id)) {
        this.#search.discard(id);
        this.#indexed.delete(id);
        this.#stems.count(replaced!, -1);
      }
      this.#pending.push(id);
      this.#addByRecency(memory, replaced);
    }
  }

  /** A new fact is the newest (stored now): it goes to the list's head, no sort. */
  #addByRecency(memory: StoredMemory, replaced: StoredMemory | undefined): void {
    const list = this.#byRecency;
    if (!list) return;
    if (replaced) {
      const at = list.indexOf(replaced);
      if (at >= 0) list.splice(at, 1);
    }
    const head = list[0];
    if (!head || memory.updatedAt.getTime() >= head.updatedAt.getTime()) list.unshift(memory);
    else this.#byRecency = undefined; // an older fact (a load): sorted on the next read
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
      this.#stems.count(memory, 1);
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
      this.#pinned.clear();
      this.#search.removeAll();
      this.#stems.clear();
      this.#indexed.clear();
      this.#pending = [];
      this.#cursor = 0;
    } else {
      const forgotten = new Set(keys);
      for (const [id, memory] of this.#memories) {
        if (!forgotten.has(memory.key)) continue;
        this.#memories.delete(id);
        this.#pinned.delete(id);
        if (this.#indexed.delete(id)) {
          this.#search.discard(id);
          this.#stems.count(memory, -1);
        }
      }
    }
    const held = (m: StoredMemory) => this.#memories.get(idOf(m)) === m;
    this.#byRecency = this.#byRecency?.filter(held);
    return before - this.#memories.size;
  }

  /**
   * @param memory a category and key
   * @returns whether a memory with this category and key is held
   */
  has(memory: Pick<MemoryInput, 'category' | 'key'>): boolean {
    return this.#memories.has(idOf(memory));
  }

  /**
   * @param memory a memory this index returned
   * @returns whether this very memory is still held (not forgotten, not superseded)
   */
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
    return [...this.#pinned.values()].sort(newestFirst);
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
    const query = this.#stems.queryOf(text, this.#indexed.size);
    if (query === '') return [];
    const options = searchOptionsFor(text);
    // Hits come most relevant first: only the first `limit` wanted ones (and any tied with the
    // last of them) are looked at and put in order, not every fact a common word matches.
    const taken: { memory: StoredMemory; score: number }[] = [];
    for (const hit of this.#search.search(query, options)) {
      const last = taken[limit - 1];
      if (last && hit.score < last.score) break;
      const memory = this.#memories.get(hit.id as string);
      if (memory && !skip?.(memory)) taken.push({ memory, score: hit.score });
    }
    taken.sort((a, b) => b.score - a.score || newestFirst(a.memory, b.memory));
    return taken.slice(0, limit).map((hit) => hit.memory);
  }
}
