/** The benchmark's arithmetic: what every quoted figure of `npm run bench` rests on. */
import { describe, expect, it } from 'vitest';
import {
  type Row,
  formatTable,
  median,
  percentile,
  ratio,
  round,
  sample,
  summarize,
  toCsv,
} from '../../bench/harness.js';

describe('bench statistics', () => {
  it('takes the median of odd and even counts, whatever the order', () => {
    expect(median([5])).toBe(5);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([10, -2, 7, 7])).toBe(7);
    expect(() => median([])).toThrow(/no samples/);
  });

  it('takes nearest-rank percentiles: p95 of 20 samples is the 19th smallest', () => {
    const samples = Array.from({ length: 20 }, (_, i) => 20 - i); // 20 … 1
    expect(percentile(samples, 0.95)).toBe(19);
    expect(percentile(samples, 0.5)).toBe(10);
    expect(percentile(samples, 1)).toBe(20);
    expect(percentile(samples, 0)).toBe(1);
    // Five samples: p95 is the largest (rank ceil(4.75) = 5).
    expect(percentile([1, 2, 3, 4, 100], 0.95)).toBe(100);
    expect(() => percentile([], 0.95)).toThrow(/no samples/);
  });

  it('does not reorder the caller’s samples', () => {
    const samples = [3, 1, 2];
    summarize(samples);
    expect(samples).toEqual([3, 1, 2]);
  });

  it('summarizes n, median, p95, min and max', () => {
    const samples = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(summarize(samples)).toEqual({ n: 100, median: 50.5, p95: 95, min: 1, max: 100 });
  });

  it('gives ours over the baseline, rounded to 3 places, and null for a zero baseline', () => {
    expect(ratio(875.5, 2266.75)).toBe(0.386);
    expect(ratio(1030, 215)).toBe(4.791);
    expect(ratio(1, 3)).toBe(0.333);
    expect(ratio(0, 5)).toBe(0);
    expect(ratio(5, 0)).toBeNull();
    expect(round(2.346, 2)).toBe(2.35);
    expect(round(2.345, 1)).toBe(2.3);
  });

  it('runs the warm-up unmeasured, then exactly the measured runs', async () => {
    let calls = 0;
    const samples = await sample(async () => ++calls, { runs: 3, warmup: 2 });
    expect(calls).toBe(5);
    expect(samples).toEqual([3, 4, 5]);
  });
});

describe('bench report', () => {
  const row: Row = {
    scenario: 'demo',
    measure: 'a "quoted" measure, with a comma',
    baseline: { label: 'naive', figures: { medianMs: 100, roundTrips: 100 } },
    ours: { label: 'ours', figures: { medianMs: 10.123, roundTrips: 1 } },
    ratio: 0.101,
    target: '1 round trip',
    pass: true,
  };

  it('writes one CSV line per figure, quoted for a chart tool', () => {
    const lines = toCsv([row]).trim().split('\n');
    expect(lines[0]).toBe('scenario,measure,side,label,figure,value');
    expect(lines).toHaveLength(5);
    expect(lines[1]).toBe(
      '"demo","a ""quoted"" measure, with a comma","baseline","naive","medianMs","100"',
    );
    expect(lines[3]).toBe(
      '"demo","a ""quoted"" measure, with a comma","ours","ours","medianMs","10.123"',
    );
  });

  it('prints a table with the verdict of each row', () => {
    const table = formatTable([row, { ...row, ratio: null, pass: false }]).split('\n');
    expect(table[0]).toMatch(/^scenario\s+\| measure/);
    expect(table[2]).toMatch(
      /ours: medianMs 10\.12, roundTrips 1 \| 0\.101 \| 1 round trip \| pass$/,
    );
    expect(table[3]).toMatch(/\| — +\| 1 round trip \| FAIL$/);
  });
});
