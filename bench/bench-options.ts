/**
 * `npm run bench`'s command line: its help (which lists the scenarios by name) and its options,
 * checked before anything runs or is written.
 */
import { UsageError, readCommandLine } from '../src/cli/command-line.js';

export interface BenchOptions {
  /** One JSON object on stdout instead of the table. */
  json: boolean;
  /** Network round trip injected on 127.0.0.1, in ms: 0 (none) or more; default 20. */
  rttMs: number;
  /** Measured runs per figure: 1 or more; default 5. */
  runs: number;
  /** The scenarios to run, by name; undefined: all of them. */
  only: string[] | undefined;
}

/**
 * @param names every scenario's name, in the order they run
 * @returns the help text; its first line is the usage
 */
export function benchHelp(names: readonly string[]): string {
  return `usage: npm run bench -- [--json] [--rtt <ms>] [--runs <n>] [--only <scenario,...>]

Every scenario against local servers on 127.0.0.1 with injected network delay, each side by
side with its baseline. Progress goes to stderr, the table to stdout; the results are also
written to bench/results/latest.json and latest.csv (replacing the last ones).

  --json                  one JSON object on stdout instead of the table
  --rtt <ms>              network round trip to inject, in ms (default 20; 0: none)
  --runs <n>              measured runs per figure (default 5; at least 1)
  --only <scenario,...>   only these scenarios, comma-separated (default: all)
  --help, -h              this text

Scenarios, in the order they run:
${wrap(names.join(', '), '  ')}

Exit status: 0 when it ran (a failed check reads FAIL in the table), 2 a wrong command line.`;
}

/**
 * @param argv the words after the script
 * @param names every scenario's name
 * @returns the options, every value checked
 * @throws {@link UsageError} naming the option that is wrong (for `--only`, with the valid names)
 */
export function readBenchOptions(argv: readonly string[], names: readonly string[]): BenchOptions {
  const { values, positionals } = readCommandLine(argv, {
    json: { type: 'boolean', default: false },
    rtt: { type: 'string', default: '20' },
    runs: { type: 'string', default: '5' },
    only: { type: 'string' },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  if (!/^\d+(\.\d+)?$/.test(values.rtt)) {
    throw new UsageError(`--rtt takes milliseconds, 0 or more (got "${values.rtt}")`);
  }
  if (!/^[1-9]\d*$/.test(values.runs)) {
    throw new UsageError(`--runs takes a whole number, 1 or more (got "${values.runs}")`);
  }
  return {
    json: values.json,
    rttMs: Number(values.rtt),
    runs: Number(values.runs),
    only: values.only === undefined ? undefined : scenarioNames(values.only, names),
  };
}

function scenarioNames(list: string, names: readonly string[]): string[] {
  const asked = list
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  if (asked.length === 0)
    throw new UsageError(`--only needs names; scenarios: ${names.join(', ')}`);
  const unknown = asked.filter((name) => !names.includes(name));
  if (unknown.length > 0) {
    const which = unknown.length === 1 ? 'unknown scenario' : 'unknown scenarios';
    throw new UsageError(`${which} ${unknown.join(', ')}; scenarios: ${names.join(', ')}`);
  }
  return asked;
}

/** Lines of at most 96 characters, each indented. */
function wrap(text: string, indent: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && indent.length + line.length + 1 + word.length > 96) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines.map((l) => `${indent}${l}`).join('\n');
}
