/**
 * Test equipment: reads sample values out of a Prometheus text exposition, to compare figures.
 * It validates nothing (`promtool check metrics` does, see promtool.ts): it only finds numbers.
 */

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * @param text an exposition, as `/metrics` returns it
 * @returns every sample line
 */
export function samplesOf(text: string): PromSample[] {
  const samples: PromSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of match[2]?.matchAll(
      /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g,
    ) ?? [])
      labels[key!] = value!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/**
 * @param samples what {@link samplesOf} read
 * @param name a sample name (with its `_total` or `_count` suffix)
 * @param labels labels the sample must have (others are ignored)
 * @returns the sum of the matching samples' values (0 when none matches)
 */
export function valueOf(
  samples: readonly PromSample[],
  name: string,
  labels: Record<string, string> = {},
): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}
