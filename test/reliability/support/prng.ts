/** A small seeded generator for property tests: the same seed, the same cases (mulberry32). */
export class Prng {
  #state: number;

  constructor(readonly seed: number) {
    this.#state = seed >>> 0;
  }

  /** In [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }

  /** `count` distinct items, in random order. */
  sample<T>(items: readonly T[], count: number): T[] {
    const pool = [...items];
    for (let i = pool.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
    }
    return pool.slice(0, count);
  }

  word(length = this.int(1, 12)): string {
    return Array.from({ length }, () => this.pick([...'abcdefghijklmnopqrstuvwxyz'])).join('');
  }
}

/** The seed: TEST_SEED to replay a failure, else a fixed one (printed with every failure). */
export function seed(): number {
  const given = Number(process.env.TEST_SEED);
  return Number.isInteger(given) ? given : 0x5eed_2026;
}
