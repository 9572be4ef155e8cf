/**
 * `npm run bench [-- --json] [--rtt 20] [--runs 5] [--only a,b]` (`--help` lists the scenarios):
 * every scenario against local servers on 127.0.0.1 with injected network delay, side by side
 * with its baseline. Progress goes to stderr; the table (or, with --json, one JSON object) to
 * stdout; the results are also written to bench/results/ (latest.json, latest.csv) for charts.
 */
import { initializeLogger } from '@livekit/agents';
import { mkdir, writeFile } from 'node:fs/promises';
import { arch, cpus, platform, totalmem } from 'node:os';
import { type Command, EXIT, type Printer, runCommand } from '../src/cli/command-line.js';
import { type BenchOptions, benchHelp, readBenchOptions } from './bench-options.js';
import { type Row, formatTable, toCsv } from './harness.js';
import { scenarios } from './scenarios/index.js';

const names = scenarios.map((scenario) => scenario.name);

const bench: Command = {
  name: 'bench',
  help: benchHelp(names),
  async run(argv, print) {
    // Checked before anything runs: a wrong option writes nothing.
    await runBench(readBenchOptions(argv, names), print);
    return EXIT.ok;
  },
};

async function runBench({ json, rttMs, runs, only }: BenchOptions, print: Printer): Promise<void> {
  const selected = only ? scenarios.filter((s) => only.includes(s.name)) : scenarios;
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
      print.note(`[${index + 1}/${selected.length} ${scenario.name}] ${message}\n`);
    progress('start');
    try {
      const rows = await scenario.run({ rttMs, runs, progress });
      results.push({
        scenario: scenario.name,
        rows,
        seconds: (Date.now() - scenarioStarted) / 1000,
      });
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

  if (json) {
    print.out(`${JSON.stringify(report)}\n`);
  } else {
    print.out(
      `${formatTable(rows)}\n\n${report.passed} passed, ${report.failed} failed, ${report.seconds.toFixed(0)} s ` +
        `(${machine.cpus}, ${machine.node}); results in bench/results/latest.json and .csv\n`,
    );
  }
}

// Servers and pools are closed by then; anything left (a timer) must not hold the report back.
runCommand(bench);
