/**
 * Operator command: the memory outbox's dead letters (entries set aside because they could not
 * be processed), and the way back once the cause is fixed.
 *
 *   node dist/cli/dead-letters.js list                     count, kinds, reasons, oldest/newest
 *   node dist/cli/dead-letters.js replay [--reason <text>] well-formed ones back into the outbox
 *
 * Reads `<MEMORY_DATA_DIR>/outbox` as the worker does (environment, then `.env`). Replayed
 * entries are unclaimed: the next job process to start replays them. Safe while workers run.
 * Prints one JSON line; never what a caller said.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/config.js';
import { loadDotEnv } from '../config/dot-env.js';
import { describeError } from '../lib/redact.js';
import { outboxDirectory } from '../memory/memory-services.js';
import { listDeadLetters, replayDeadLetters } from '../memory/outbox/dead-letters.js';

const USAGE = 'usage: npm run dead-letters -- list | replay [--reason <text>]';

async function main(argv: string[]): Promise<number> {
  const args = parse(argv);
  if (!args) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const { command, reason } = args;
  loadDotEnv();
  const config = loadConfig(process.env, { requireOpenAI: false });
  const outbox = outboxDirectory(config);
  const result =
    command === 'list'
      ? await listDeadLetters(outbox)
      : await replayDeadLetters(outbox, reason === undefined ? {} : { reasonIncludes: reason });
  process.stdout.write(`${JSON.stringify({ command, outbox, ...result })}\n`);
  return 0;
}

/** The command and its option, or nothing when the words make no sense. */
function parse(argv: string[]): { command: 'list' | 'replay'; reason?: string } | undefined {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { reason: { type: 'string' } },
    });
    const [command, ...rest] = positionals;
    if (rest.length > 0) return undefined;
    if (command === 'list' && values.reason === undefined) return { command };
    if (command !== 'replay') return undefined;
    return values.reason === undefined ? { command } : { command, reason: values.reason };
  } catch {
    return undefined; // an unknown option
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    // One line an operator can act on: every configuration problem, or the file error.
    const message =
      error instanceof ConfigError
        ? `invalid configuration: ${error.problems.join('; ')} (set in the environment or .env)`
        : describeError(error);
    process.stderr.write(`dead-letters: ${message}\n`);
    process.exit(1);
  },
);
