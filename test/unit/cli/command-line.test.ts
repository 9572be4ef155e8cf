/** What every operator command does with its command line, on a command that records its calls. */
import { describe, expect, it } from 'vitest';
import {
  type Command,
  EXIT,
  type Printer,
  UsageError,
  executeCommand,
  readCommandLine,
} from '../../../src/cli/command-line.js';
import { ConfigError } from '../../../src/config/config.js';

/** A printer that keeps what it was given. */
function keeper(): Printer & { stdout: string; stderr: string } {
  const kept = { stdout: '', stderr: '' };
  return Object.assign(kept, {
    out: (text: string) => void (kept.stdout += text),
    note: (text: string) => void (kept.stderr += text),
  });
}

/** `demo [--name <n>] [--loud]`, failing as told. */
function demo(fail?: unknown): Command & { runs: (readonly string[])[] } {
  const runs: (readonly string[])[] = [];
  return {
    name: 'demo',
    help: 'usage: demo [--name <n>]\n\nSays hello.',
    runs,
    async run(argv, print) {
      runs.push(argv);
      const { values } = readCommandLine(argv, {
        name: { type: 'string' },
        loud: { type: 'boolean', default: false },
      });
      if (fail !== undefined) throw fail;
      print.out(`hello ${values.name ?? 'you'}${values.loud ? '!' : ''}\n`);
      return EXIT.ok;
    },
  };
}

describe('operator command line', () => {
  it('runs the command with its words and returns its status', async () => {
    const print = keeper();
    expect(await executeCommand(demo(), ['--name', 'maya', '--loud'], print)).toBe(0);
    expect(print).toMatchObject({ stdout: 'hello maya!\n', stderr: '' });
  });

  it('--help or -h: the help on stdout, exit 0, the command never run', async () => {
    for (const argv of [['--help'], ['-h'], ['--bogus', '--help'], ['--name', 'x', '-h']]) {
      const command = demo();
      const print = keeper();
      expect(await executeCommand(command, argv, print)).toBe(EXIT.ok);
      expect(print).toMatchObject({ stdout: `${command.help}\n`, stderr: '' });
      expect(command.runs).toEqual([]);
    }
  });

  it('a --help after `--` is a word, not a request for help', async () => {
    const command = demo();
    const print = keeper();
    expect(await executeCommand(command, ['--', '--help'], print)).toBe(EXIT.ok);
    expect(command.runs).toEqual([['--', '--help']]);
  });

  it('a mistake: what is wrong, the usage line, a pointer to --help, on stderr, exit 2', async () => {
    const cases: [string[], string][] = [
      [['--bogus'], "demo: Unknown option '--bogus'"],
      [['--name'], "demo: Option '--name <value>' argument missing"],
      [['--loud=yes'], "demo: Option '--loud' does not take an argument"],
    ];
    for (const [argv, first] of cases) {
      const print = keeper();
      expect(await executeCommand(demo(), argv, print)).toBe(EXIT.usage);
      expect(print.stdout).toBe('');
      expect(print.stderr).toBe(`${first}\nusage: demo [--name <n>]\n(--help for more)\n`);
    }
    const print = keeper();
    await executeCommand(demo(new UsageError('say who')), [], print);
    expect(print.stderr.split('\n')[0]).toBe('demo: say who');
  });

  it('an invalid configuration: every problem in one line, exit 1', async () => {
    const print = keeper();
    const problems = ['MEMORY_DATA_DIR must not be empty', 'LOG_LEVEL must be one of …'];
    expect(await executeCommand(demo(new ConfigError(problems)), [], print)).toBe(EXIT.failed);
    expect(print.stderr).toBe(
      'demo: invalid configuration: MEMORY_DATA_DIR must not be empty; LOG_LEVEL must be one of … ' +
        '(set in the environment or .env)\n',
    );
  });

  it('a failure: one line, redacted, no stack, exit 1', async () => {
    const print = keeper();
    const error = new Error('connect failed for postgres://agent:hunter2@db:5432/memories');
    expect(await executeCommand(demo(error), [], print)).toBe(EXIT.failed);
    expect(print.stderr).toMatch(/^demo: .*connect failed for postgres:\/\/\[redacted\]@db/);
    expect(print.stderr).not.toContain('hunter2');
    expect(print.stderr.trim().split('\n')).toHaveLength(1);
  });
});
