import { describe, expect, it } from 'vitest';
import { LatencyWindow } from '../../../src/lib/latency-window.js';

describe('LatencyWindow', () => {
  it('gives nearest-rank percentiles, follows new samples, and forgets old ones', () => {
    let now = 0;
    const window = new LatencyWindow(1_000, 100, () => now);
    expect(window.percentiles()).toEqual({ p50: null, p95: null, p99: null, samples: 0 });
    for (let ms = 1; ms <= 100; ms++) window.record(ms);
    expect(window.percentiles()).toEqual({ p50: 50, p95: 95, p99: 99, samples: 100 });

    window.record(1_000); // bounded: the oldest sample (1 ms) goes
    expect(window.percentiles()).toMatchObject({ p50: 51, p99: 100, samples: 100 });

    now = 500;
    window.record(7);
    expect(window.percentiles().samples).toBe(100);
    now = 1_001; // everything recorded at 0 has left the window
    expect(window.percentiles()).toEqual({ p50: 7, p95: 7, p99: 7, samples: 1 });
    now = 2_000;
    expect(window.percentiles().samples).toBe(0);
  });
});
