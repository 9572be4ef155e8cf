/**
 * What is remembered per caller, to skip unchanged facts: bounded, and refreshed now and then
 * (the store stays the truth; this only spares it a round trip per batch).
 */
import { LRUCache } from 'lru-cache';
import type { MemoryInput, MemoryStore, StoredMemory } from '../../store/memory-store.js';

export class CallerMemories {
  readonly #store: MemoryStore;
  readonly #current = new LRUCache<string, StoredMemory[]>({ max: 1_000, ttl: 30 * 60_000 });

  /** @param store where a caller not known here is loaded from */
  constructor(store: MemoryStore) {
    this.#store = store;
  }

  /** Callers whose memories are kept here. */
  get size(): number {
    return this.#current.size;
  }

  /** What is remembered about a caller already (loaded at session start). */
  prime(userId: string, memories: readonly StoredMemory[]): void {
    this.#current.set(userId, [...memories]);
  }

  /**
   * @param userId the caller
   * @returns what is remembered, loaded from the store when not known here; none when the store
   *   cannot be read (extraction still works; the store decides supersede on save)
   */
  async of(userId: string): Promise<StoredMemory[]> {
    const known = this.#current.get(userId);
    if (known) return known;
    try {
      const loaded = await this.#store.load(userId);
      this.#current.set(userId, loaded);
      return loaded;
    } catch {
      return [];
    }
  }

  /** Just stored: each item replaces the memory with its category and key. */
  remember(userId: string, items: readonly MemoryInput[]): void {
    const now = new Date();
    const current = (this.#current.get(userId) ?? []).filter(
      (m) => !items.some((i) => i.category === m.category && i.key === m.key),
    );
    current.unshift(...items.map((i) => ({ ...i, createdAt: now, updatedAt: now })));
    this.#current.set(userId, current);
  }

  /** The caller forgot: the memories `matches` picks go. */
  forget(userId: string, matches: (memory: MemoryInput) => boolean): void {
    this.#current.set(
      userId,
      (this.#current.get(userId) ?? []).filter((m) => !matches(m)),
    );
  }
}
