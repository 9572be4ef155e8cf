/** Latency samples over a sliding time window, bounded in size, with percentiles on demand. */
export interface Percentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
  samples: number;
}

export class LatencyWindow {
  #samples: { at: number; ms: number }[] = [];

  constructor(
    private readonly windowMs = 5 * 60_000,
    private readonly maxSamples = 2_048,
    private readonly now: () => number = Date.now,
  ) {}

  record(ms: number): void {
    this.#samples.push({ at: this.now(), ms });
    if (this.#samples.length > this.maxSamples)
      this.#samples.splice(0, this.#samples.length - this.maxSamples);
  }

  percentiles(): Percentiles {
    const cutoff = this.now() - this.windowMs;
    this.#samples = this.#samples.filter((s) => s.at >= cutoff);
    const sorted = this.#samples.map((s) => s.ms).sort((a, b) => a - b);
    const at = (q: number) =>
      sorted.length === 0
        ? null
        : Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!);
    return { p50: at(0.5), p95: at(0.95), p99: at(0.99), samples: sorted.length };
  }

  reset(): void {
    this.#samples = [];
  }
}
