/** Latency samples over a sliding time window, bounded in size, with percentiles on demand. */
export interface Percentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
  samples: number;
}

export class LatencyWindow {
  #samples: { at: number; ms: number }[] = [];
  #cached: Percentiles | undefined;
  #cachedUntil = 0;

  /**
   * @param windowMs samples older than this are dropped
   * @param maxSamples the oldest samples go first past this many
   * @param now the clock (tests move it)
   */
  constructor(
    private readonly windowMs = 5 * 60_000,
    private readonly maxSamples = 2_048,
    private readonly now: () => number = Date.now,
  ) {}

  record(ms: number): void {
    this.#samples.push({ at: this.now(), ms });
    if (this.#samples.length > this.maxSamples)
      this.#samples.splice(0, this.#samples.length - this.maxSamples);
    this.#cached = undefined;
  }

  /** Sorted once per change: stats() may be read often between two requests. */
  percentiles(): Percentiles {
    const now = this.now();
    if (this.#cached && now < this.#cachedUntil) return { ...this.#cached };
    const cutoff = now - this.windowMs;
    this.#samples = this.#samples.filter((s) => s.at >= cutoff);
    // A typed array sorts numbers natively, without a comparator call per pair.
    const sorted = Float64Array.from(this.#samples, (s) => s.ms).sort();
    const at = (q: number) =>
      sorted.length === 0
        ? null
        : Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!);
    this.#cached = { p50: at(0.5), p95: at(0.95), p99: at(0.99), samples: sorted.length };
    // Valid until the oldest sample leaves the window.
    this.#cachedUntil = this.#samples.length > 0 ? this.#samples[0]!.at + this.windowMs : Infinity;
    return { ...this.#cached };
  }

  reset(): void {
    this.#samples = [];
    this.#cached = undefined;
  }
}
