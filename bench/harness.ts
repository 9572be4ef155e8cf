/**
 * The benchmark's arithmetic and its report. Every figure is a set of samples measured in one
 * run, side by side with its baseline; the claim is the ratio, which holds on a noisy machine
 * where absolute times do not.
 */

export interface Summary {
  n: number;
  median: number;
  p95: number;
  min: number;
  max: number;
}

/** Nearest-rank percentile of already measured samples (q in 0..1). */
export function percentile(samples: readonly number[], q: number): number {
  if (samples.length === 0) throw new Error('no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1]!;
}

export function median(samples: readonly number[]): number {
  if (samples.length === 0) throw new Error('no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function summarize(samples: readonly number[]): Summary {
  return {
    n: samples.length,
    median: median(samples),
    p95: percentile(samples, 0.95),
    min: Math.min(...samples),
    max: Math.max(...samples),
  };
}

/** ours / baseline, rounded for reading; null when the baseline is zero. */
export function ratio(ours: number, baseline: number): number | null {
  if (baseline === 0) return null;
  return round(ours / baseline, 3);
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Runs `once` `warmup` times unmeasured, then `runs` times; returns the measured samples. */
export async function sample(
  once: () => Promise<number>,
  { runs, warmup = 1 }: { runs: number; warmup?: number },
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await once();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(await once());
  return samples;
}

/** Milliseconds `work` takes. */
export async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

export type Figures = Record<string, number | string | null>;

/** One line of the report: a figure of ours against the naive way, and what it is held to. */
export interface Row {
  scenario: string;
  measure: string;
  baseline: { label: string; figures: Figures };
  ours: { label: string; figures: Figures };
  /** ours / baseline of the headline figure (null: not a ratio row). */
  ratio: number | null;
  target: string;
  pass: boolean;
}

export interface BenchContext {
  rttMs: number;
  runs: number;
  progress(message: string): void;
}

export interface Scenario {
  name: string;
  run(context: BenchContext): Promise<Row[]>;
}

/** The table printed on stdout: one line per row, the headline figures and the verdict. */
export function formatTable(rows: readonly Row[]): string {
  const headline = (figures: Figures) =>
    Object.entries(figures)
      .map(([k, v]) => `${k} ${typeof v === 'number' ? round(v, 2) : v}`)
      .join(', ');
  const lines = rows.map((row) => [
    row.scenario,
    row.measure,
    `${row.baseline.label}: ${headline(row.baseline.figures)}`,
    `${row.ours.label}: ${headline(row.ours.figures)}`,
    row.ratio === null ? '—' : String(row.ratio),
    row.target,
    row.pass ? 'pass' : 'FAIL',
  ]);
  const header = ['scenario', 'measure', 'baseline', 'ours', 'ratio', 'target', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
  return [format(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...lines.map(format)].join(
    '\n',
  );
}

/** Flat CSV for charts: one line per figure. */
export function toCsv(rows: readonly Row[]): string {
  const out = ['scenario,measure,side,label,figure,value'];
  const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
  for (const row of rows) {
    for (const side of ['baseline', 'ours'] as const) {
      for (const [figure, value] of Object.entries(row[side].figures)) {
        out.push(
          [row.scenario, row.measure, side, row[side].label, figure, String(value ?? '')]
            .map(quote)
            .join(','),
        );
      }
    }
  }
  return `${out.join('\n')}\n`;
}
