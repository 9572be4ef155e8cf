/**
 * What every operator command does with its command line, so they all behave alike:
 * `--help` (or `-h`) prints the help on stdout and exits 0, whatever else was typed; a mistake
 * prints one line saying what is wrong, then the usage, on stderr, and exits 2; an invalid
 * configuration or a failure prints one line on stderr and exits 1. Never a stack trace.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { ConfigError } from '../config/config.js';
import { describeError } from '../lib/redact.js';

/** Options as `node:util` `parseArgs` declares them. */
type Options = NonNullable<ParseArgsConfig['options']>;

/** What `readCommandLine` read: typed values of the options, and the positional words. */
export type CommandLine<T extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>
>;

/** Exit statuses: done, failed (store, files, configuration), wrong command line. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** A command line that cannot be run as typed: the message says what is wrong, in one line. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Where a command's words go: `out` for its result (stdout), `note` for people (stderr). */
export interface Printer {
  out(text: string): void;
  note(text: string): void;
}

/** An operator command: its name in messages, its help, and what it does. */
export interface Command {
  /** The name every message starts with, e.g. `greetings`. */
  name: string;
  /** Printed for `--help`. Its first line is the usage, repeated after a mistake. */
  help: string;
  /**
   * @param argv the words after the script, `--help` already handled
   * @param print where its result and its notes go
   * @returns the exit status
   * @throws {@link UsageError} for a command line that makes no sense
   * @throws {@link ConfigError} for an invalid configuration
   */
  run(argv: readonly string[], print: Printer): Promise<number>;
}

/**
 * Reads options and positional words; strict: an unknown option or a missing value is a mistake.
 * @param argv the words after the script
 * @param options the options, as `node:util` `parseArgs` takes them
 * @returns the values and the positional words
 * @throws {@link UsageError} naming the option that is unknown or lacks its value
 */
export function readCommandLine<const T extends Options>(
  argv: readonly string[],
  options: T,
): CommandLine<T> {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs' first sentence names the option; the rest is advice about `--` we do not need.
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(message.split(/\.\s/)[0]!.replace(/\.$/, ''));
  }
}

/**
 * Runs a command: its help when asked, else the command, with any error said in one line.
 * @param command the command
 * @param argv the words after the script
 * @param print where the words go (tests pass one that keeps them)
 * @returns the exit status ({@link EXIT})
 */
export async function executeCommand(
  command: Command,
  argv: readonly string[],
  print: Printer,
): Promise<number> {
  if (asksForHelp(argv)) {
    print.out(`${command.help}\n`);
    return EXIT.ok;
  }
  try {
    return await command.run(argv, print);
  } catch (error) {
    if (error instanceof UsageError) {
      const usage = command.help.split('\n')[0];
      print.note(`${command.name}: ${error.message}\n${usage}\n(--help for more)\n`);
      return EXIT.usage;
    }
    const message =
      error instanceof ConfigError
        ? `invalid configuration: ${error.problems.join('; ')} (set in the environment or .env)`
        : describeError(error);
    print.note(`${command.name}: ${message}\n`);
    return EXIT.failed;
  }
}

/**
 * Runs a command as the process's whole life, on stdout and stderr, then exits with its status
 * (its stores and servers are closed by then: a stray timer must not hold the exit back).
 * @param command the command
 * @param argv the words after the script (default: this process's)
 */
export function runCommand(command: Command, argv: readonly string[] = process.argv.slice(2)) {
  const print: Printer = {
    out: (text) => process.stdout.write(text),
    note: (text) => process.stderr.write(text),
  };
  void executeCommand(command, argv, print).then((code) => process.exit(code));
}

/** `--help` or `-h` anywhere before a `--` that ends the options. */
function asksForHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  const options = end === -1 ? argv : argv.slice(0, end);
  return options.includes('--help') || options.includes('-h');
}
