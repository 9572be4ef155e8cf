/**
 * `npm run greetings`'s command line: what it refuses before anything is read or touched (no
 * `.env`, no store), and its help. The command against a real store: test/cli/greetings.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EXIT, type Printer, executeCommand } from '../../../src/cli/command-line.js';
import { greetingsCommand } from '../../../src/cli/greetings-command.js';

// A command line that got past its checks (a regression) must stop at once: never read the
// .env of the folder the tests run in, never open a store or a data directory.
beforeAll(() => {
  vi.spyOn(process, 'loadEnvFile').mockImplementation(() => {
    throw new Error('a unit test must not read .env');
  });
  vi.stubEnv('MEMORY_STORE_CONNECTIONS', 'not a number'); // the configuration fails next
});
afterAll(() => vi.restoreAllMocks());

async function greetings(argv: string[]) {
  const kept = { stdout: '', stderr: '' };
  const print: Printer = {
    out: (text) => void (kept.stdout += text),
    note: (text) => void (kept.stderr += text),
  };
  const code = await executeCommand(greetingsCommand, argv, print);
  return { code, ...kept };
}

const USAGE =
  'usage: npm run greetings -- invalidate (--user <identity> | --all) ' +
  '[--agent <name> | --all-agents] [--stale]';

describe('npm run greetings: the command line', () => {
  it('refuses to touch more than one caller without --all, and every other mistake', async () => {
    const mistakes: [string[], string][] = [
      [['invalidate'], 'say whose greetings: --user <identity>, or --all for every caller'],
      [
        ['invalidate', '--agent', 'shop'],
        'say whose greetings: --user <identity>, or --all for every caller',
      ],
      [
        ['invalidate', '--all-agents'],
        'say whose greetings: --user <identity>, or --all for every caller',
      ],
      [
        ['invalidate', '--stale'],
        'say whose greetings: --user <identity>, or --all for every caller',
      ],
      [['invalidate', '--user', 'maya', '--all'], '--user and --all exclude each other'],
      [
        ['invalidate', '--all', '--agent', 'x', '--all-agents'],
        '--agent and --all-agents exclude each other',
      ],
      [['invalidate', '--user', ' '], '--user needs an identity'],
      [['invalidate', '--all', '--agent', ''], '--agent needs a name'],
      [['invalidate', '--user'], "Option '--user <value>' argument missing"],
      [['invalidate', '--all', '--force'], "Unknown option '--force'"],
      [['delete-everything'], 'unknown command: delete-everything'],
      [['invalidate', 'maya'], 'unexpected argument: maya'],
      [[], 'say what to do: invalidate'],
    ];
    for (const [argv, why] of mistakes) {
      expect(await greetings(argv), argv.join(' ')).toEqual({
        code: EXIT.usage,
        stdout: '',
        stderr: `greetings: ${why}\n${USAGE}\n(--help for more)\n`,
      });
    }
  });

  it('--help: the usage first, every option, examples, exit 0', async () => {
    const help = await greetings(['--help']);
    expect(help).toMatchObject({ code: EXIT.ok, stderr: '' });
    const lines = help.stdout.split('\n');
    expect(lines[0]).toBe(USAGE);
    for (const option of [
      '--user <identity>',
      '--all ',
      '--agent <name>',
      '--all-agents',
      '--stale',
    ]) {
      expect(lines.some((line) => line.trimStart().startsWith(option))).toBe(true);
    }
    expect(help.stdout).toContain('npm run greetings -- invalidate --all --all-agents');
  });
});
