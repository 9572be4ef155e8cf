/**
 * Operator command: the memory outbox's dead letters (entries set aside because they could not
 * be processed), and the way back once the cause is fixed. Reads `<MEMORY_DATA_DIR>/outbox` as
 * the worker does; prints one JSON line, never what a caller said.
 */
import { join } from 'node:path';
import { loadConfig } from '../config/config.js';
import { loadDotEnv } from '../config/dot-env.js';
import { outboxDirectory } from '../memory/memory-services.js';
import { listDeadLetters, replayDeadLetters } from '../memory/outbox/dead-letters.js';
import { type Command, EXIT, UsageError, readCommandLine } from './command-line.js';

const HELP = `usage: npm run dead-letters -- list | replay [--reason <text>]

The memory outbox's dead letters: what callers said (or memories taken from it) that could not
be processed, set aside in <MEMORY_DATA_DIR>/outbox/dead-letter with the reason why.

  list             how many, of which kinds, for which reasons, oldest and newest
  replay           once the cause is fixed: moves the well-formed ones back into the outbox,
                   where the next job process to start picks them up; malformed ones stay
  --reason <text>  replay only those whose reason contains <text>, e.g. --reason "(401)"
  --help, -h       this text

MEMORY_DATA_DIR (default ./data) is read from the environment, then .env, as the worker reads
it. Safe while workers run. Prints one JSON line on stdout, never what a caller said; replay
also says on stderr what it moved.
Exit status: 0 done, 1 failed (files or configuration), 2 a wrong command line.`;

/** `npm run dead-letters`: run by `dead-letters.ts`, tested through `executeCommand`. */
export const deadLettersCommand: Command = {
  name: 'dead-letters',
  help: HELP,
  async run(argv, print) {
    const { command, reason } = readWords(argv);
    loadDotEnv();
    const config = loadConfig(process.env, { requireOpenAI: false });
    const outbox = outboxDirectory(config);
    if (command === 'list') {
      print.out(`${JSON.stringify({ command, outbox, ...(await listDeadLetters(outbox)) })}\n`);
      return EXIT.ok;
    }
    const report = await replayDeadLetters(
      outbox,
      reason === undefined ? {} : { reasonIncludes: reason },
    );
    print.out(`${JSON.stringify({ command, outbox, ...report })}\n`);
    const kept = report.kept === 0 ? '' : `; ${report.kept} kept in ${join(outbox, 'dead-letter')}`;
    print.note(
      `dead-letters: moved ${report.replayed} back into ${outbox} (the next job process ` +
        `replays them)${kept}\n`,
    );
    return EXIT.ok;
  },
};

/**
 * The command and its option, checked before anything is read.
 * @throws {@link UsageError} for anything but `list` or `replay [--reason <text>]`
 */
function readWords(argv: readonly string[]): { command: 'list' | 'replay'; reason?: string } {
  const { values, positionals } = readCommandLine(argv, { reason: { type: 'string' } });
  const [command, ...rest] = positionals;
  if (command === undefined) throw new UsageError('say what to do: list or replay');
  if (command !== 'list' && command !== 'replay') {
    throw new UsageError(`unknown command: ${command}`);
  }
  if (rest.length > 0) throw new UsageError(`unexpected argument: ${rest[0]}`);
  if (values.reason === undefined) return { command };
  if (command === 'list') throw new UsageError('--reason goes with replay, not list');
  if (values.reason.trim() === '') throw new UsageError('--reason needs some text to look for');
  return { command, reason: values.reason };
}
