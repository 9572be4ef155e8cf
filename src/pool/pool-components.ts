/**
 * What the parts built on the pool hand it: caches it prunes on cleanup and reports the size
 * of, and figures it reports in `pool.stats().components` (memory processing, greetings).
 */

/** A cache the pool can prune on cleanup and report on (an lru-cache fits). */
export interface PrunableCache {
  readonly size: number;
  /** @returns true when something was pruned */
  purgeStale(): boolean;
}

/** Something that reports its own figures: JSON-safe, never a secret. */
export type StatsSource = () => unknown;

export class PoolComponents {
  readonly #caches = new Map<string, PrunableCache>();
  readonly #sources = new Map<string, StatsSource>();

  /**
   * @param name - the key in `stats().caches`; a second cache of the same name replaces the first
   * @param cache - pruned on `cleanup()`
   */
  registerCache(name: string, cache: PrunableCache): void {
    this.#caches.set(name, cache);
  }

  /**
   * @param name - the key in `stats().components`; a second source of the same name replaces it
   * @param source - called on every `stats()`; if it throws, its section says only the error's name
   */
  registerStats(name: string, source: StatsSource): void {
    this.#sources.set(name, source);
  }

  /** @returns how many caches had something stale to prune */
  pruneCaches(): number {
    let pruned = 0;
    for (const cache of this.#caches.values()) if (cache.purgeStale()) pruned++;
    return pruned;
  }

  /** @returns each cache's size */
  cacheSizes(): Record<string, { size: number }> {
    return Object.fromEntries([...this.#caches].map(([name, c]) => [name, { size: c.size }]));
  }

  /** @returns each source's figures */
  figures(): Record<string, unknown> {
    return Object.fromEntries([...this.#sources].map(([name, source]) => [name, safely(source)]));
  }
}

function safely(source: StatsSource): unknown {
  try {
    return source();
  } catch (error) {
    return { error: error instanceof Error ? error.name : 'unavailable' };
  }
}
