/** `npm run bench`'s options: checked before anything runs, the scenario names in the help. */
import { describe, expect, it } from 'vitest';
import { benchHelp, readBenchOptions } from '../../../bench/bench-options.js';

const NAMES = ['call-turns', 'late-call', 'idle-gap', 'spoken-turn'];

describe('npm run bench: options', () => {
  it('defaults: the table, 20 ms round trip, 5 runs, every scenario', () => {
    expect(readBenchOptions([], NAMES)).toEqual({
      json: false,
      rttMs: 20,
      runs: 5,
      only: undefined,
    });
  });

  it('reads --json, --rtt, --runs and --only (names trimmed, blanks dropped)', () => {
    const argv = ['--json', '--rtt', '0', '--runs', '12', '--only', ' idle-gap, call-turns,'];
    expect(readBenchOptions(argv, NAMES)).toEqual({
      json: true,
      rttMs: 0,
      runs: 12,
      only: ['idle-gap', 'call-turns'],
    });
    expect(readBenchOptions(['--rtt', '2.5'], NAMES).rttMs).toBe(2.5);
  });

  it('an unknown scenario is refused with every valid name', () => {
    for (const only of ['bogus', 'idle-gap,bogus']) {
      expect(() => readBenchOptions(['--only', only], NAMES)).toThrow(
        'unknown scenario bogus; scenarios: call-turns, late-call, idle-gap, spoken-turn',
      );
    }
    expect(() => readBenchOptions(['--only', 'a,b'], NAMES)).toThrow(/^unknown scenarios a, b; /);
    expect(() => readBenchOptions(['--only', ' , '], NAMES)).toThrow(/^--only needs names; /);
  });

  it('refuses values that are not numbers in range, unknown options and stray words', () => {
    const mistakes: [string[], RegExp][] = [
      [['--rtt', 'abc'], /^--rtt takes milliseconds, 0 or more \(got "abc"\)$/],
      [['--rtt', '-5'], /^Option '--rtt' argument is ambiguous$/],
      [['--rtt=-5'], /^--rtt takes milliseconds, 0 or more \(got "-5"\)$/],
      [['--rtt', ''], /^--rtt takes milliseconds/],
      [['--runs', '0'], /^--runs takes a whole number, 1 or more \(got "0"\)$/],
      [['--runs', '2.5'], /^--runs takes a whole number/],
      [['--runs', 'lots'], /^--runs takes a whole number/],
      [['--rtt'], /^Option '--rtt <value>' argument missing$/],
      [['--fast'], /^Unknown option '--fast'$/],
      [['idle-gap'], /^unexpected argument: idle-gap$/],
    ];
    for (const [argv, message] of mistakes) {
      expect(() => readBenchOptions(argv, NAMES), argv.join(' ')).toThrow(message);
    }
  });

  it('the help: the usage first, every option, and every scenario by name', () => {
    const help = benchHelp(NAMES);
    expect(help.split('\n')[0]).toBe(
      'usage: npm run bench -- [--json] [--rtt <ms>] [--runs <n>] [--only <scenario,...>]',
    );
    for (const option of [
      '--json',
      '--rtt <ms>',
      '--runs <n>',
      '--only <scenario,...>',
      '--help',
    ]) {
      expect(help).toContain(`  ${option}`);
    }
    expect(help).toContain('  call-turns, late-call, idle-gap, spoken-turn\n');
    const many = benchHelp(Array.from({ length: 40 }, (_, i) => `scenario-${i}`));
    expect(Math.max(...many.split('\n').map((line) => line.length))).toBeLessThanOrEqual(96);
    expect(many).toContain('scenario-39');
  });
});
