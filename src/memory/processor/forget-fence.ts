/**
 * Forgetting is a fence in this process: nothing heard before a forget is stored after it, even
 * when its extraction was already running when the caller asked. (The store keeps the same fence
 * for what other processes replay: `save` answers `forgotten`.)
 */
import { LRUCache } from 'lru-cache';

/**
 * What is heard within this long after a forget counts as heard before it: the store's margin
 * for clock skew between worker hosts and the database (supabase/migrations, forget fence).
 * A batch whose earliest turn falls in it would be refused whole by the store, so the processor
 * drops such turns before they are batched with later ones.
 */
export const FORGET_MARGIN_MS = 1_000;

/** Callers whose forgets are remembered here; older ones rely on the store's fence alone. */
const MAX_CALLERS = 10_000;
/** Keys remembered per caller; beyond it the oldest go (the store still fences them). */
const MAX_KEYS_PER_CALLER = 500;

interface Forgets {
  /** When the caller last forgot everything (ms since the epoch), or -Infinity. */
  everything: number;
  /** When each key was last forgotten. */
  keys: Map<string, number>;
}

export class ForgetFence {
  readonly #callers = new LRUCache<string, Forgets>({ max: MAX_CALLERS });

  /**
   * Records a forget.
   * @param userId the caller
   * @param keys the keys forgotten; none or empty = everything
   * @param at when (ms since the epoch)
   */
  record(userId: string, keys: readonly string[] | undefined, at: number = Date.now()): void {
    const forgets = this.#callers.get(userId) ?? { everything: -Infinity, keys: new Map() };
    if (!keys || keys.length === 0) {
      forgets.everything = at;
      forgets.keys.clear(); // covered by everything
    } else {
      for (const key of keys) {
        forgets.keys.delete(key); // re-inserted last: the map's order is oldest first
        forgets.keys.set(key, at);
      }
      for (const oldest of forgets.keys.keys()) {
        if (forgets.keys.size <= MAX_KEYS_PER_CALLER) break;
        forgets.keys.delete(oldest);
      }
    }
    this.#callers.set(userId, forgets);
  }

  /**
   * @param userId the caller
   * @param heardAt when it was heard (ms since the epoch)
   * @returns whether the caller forgot everything after (or within the margin before) that
   */
  coversEverything(userId: string, heardAt: number): boolean {
    return covers(this.#callers.get(userId)?.everything, heardAt);
  }

  /**
   * @param userId the caller
   * @param heardAt when the earliest turn behind the items was heard (ms since the epoch)
   * @param items what would be stored
   * @returns the items no forget after `heardAt` (less the margin) covers
   */
  admit<T extends { key: string }>(userId: string, heardAt: number, items: readonly T[]): T[] {
    const forgets = this.#callers.get(userId);
    if (!forgets) return [...items];
    if (covers(forgets.everything, heardAt)) return [];
    return items.filter((item) => !covers(forgets.keys.get(item.key), heardAt));
  }
}

function covers(forgotAt: number | undefined, heardAt: number): boolean {
  return forgotAt !== undefined && heardAt <= forgotAt + FORGET_MARGIN_MS;
}
