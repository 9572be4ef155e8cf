/**
 * `npm run bench [-- --json] [--rtt 20] [--runs 5] [--only a,b]`: every scenario against local
 * servers on 127.0.0.1 with injected network delay, side by side with its baseline. Progress
 * goes to stderr; the table (or, with --json, one JSON object) to stdout; the results are also
 * written to bench/results/ (latest.json, latest.csv) for charts.
 */
import { initializeLogger } from '@livekit/agents';
import { mkdir, writeFile } from 'node:fs/promises';
import { arch, cpus, platform, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { type Row, type Scenario, formatTable, toCsv } from './harness.js';
import { scenarios } from './scenarios/index.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    rtt: { type: 'string', default: '20' },
    runs: { type: 'string', default: '5' },
    only: { type: 'string' },
  },
});
const rttMs = Number(values.rtt);
const runs = Number(values.runs);
if (!Number.isFinite(rttMs) || rttMs < 0 || !Number.isInteger(runs) || runs < 1) {
  process.stderr.write('usage: npm run bench -- [--json] [--rtt <ms>] [--runs <n>] [--only a,b]\n');
  process.exit(2);
}
const only = values.only?.split(',').map((s) => s.trim());
const selected: Scenario[] = only ? scenarios.filter((s) => only.includes(s.name)) : scenarios;

// The product logs through the framework's logger; the benchmark's output is its report.
initializeLogger({ pretty: false, level: 'silent' });

const machine = {
  node: process.version,
  platform: `${platform()}-${arch()}`,
  cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
};
const started = Date.now();
const results: { scenario: string; rows: Row[]; seconds: number; error?: string }[] = [];
for (const [index, scenario] of selected.entries()) {
  const scenarioStarted = Date.now();
  const progress = (message: string) =>
    process.stderr.write(`[${index + 1}/${selected.length} ${scenario.name}] ${message}\n`);
  progress('start');
  try {
    const rows = await scenario.run({ rttMs, runs, progress });
    results.push({ scenario: scenario.name, rows, seconds: (Date.now() - scenarioStarted) / 1000 });
    const failing = rows.filter((r) => !r.pass).map((r) => r.measure);
    progress(
      `verdict: ${rows.length - failing.length} of ${rows.length} checks pass` +
        (failing.length > 0 ? `; FAIL: ${failing.join(' | ')}` : ''),
    );
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    progress(`failed: ${message}`);
    results.push({ scenario: scenario.name, rows: [], seconds: 0, error: message });
  }
  progress(`done in ${((Date.now() - scenarioStarted) / 1000).toFixed(1)} s`);
}

const rows = results.flatMap((r) => r.rows);
const report = {
  command: `npm run bench -- --rtt ${rttMs} --runs ${runs}${only ? ` --only ${only.join(',')}` : ''}`,
  at: new Date().toISOString(),
  machine,
  rttMs,
  runs,
  seconds: (Date.now() - started) / 1000,
  passed: rows.filter((r) => r.pass).length,
  failed: rows.filter((r) => !r.pass).length + results.filter((r) => r.error).length,
  scenarios: results,
};
await mkdir('bench/results', { recursive: true });
await writeFile('bench/results/latest.json', `${JSON.stringify(report, null, 2)}\n`);
await writeFile('bench/results/latest.csv', toCsv(rows));

if (values.json) {
  process.stdout.write(`${JSON.stringify(report)}\n`);
} else {
  process.stdout.write(
    `${formatTable(rows)}\n\n${report.passed} passed, ${report.failed} failed, ${report.seconds.toFixed(0)} s ` +
      `(${machine.cpus}, ${machine.node}); results in bench/results/latest.json and .csv\n`,
  );
}
// Servers and pools are closed; anything left (a timer) must not hold the report back.
process.exit(0);
