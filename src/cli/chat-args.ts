/** `npm run chat`'s command line: who the caller is, or the usage. */
import { parseArgs } from 'node:util';

export const CHAT_USAGE = `usage: npm run chat -- --user <identity>

A conversation with the assistant in this terminal, with no LiveKit server: the same assistant,
memories, greetings and tools as a call, as the caller <identity> (a room participant's identity
in a call). Type a line to speak; end with Ctrl-D, /bye or Ctrl-C (memories are saved first).

  --user, -u <identity>  the caller you are: their memories and greeting (required)
  --help, -h             this text

Configuration as the worker reads it (environment, then .env): OPENAI_API_KEY (any value for a
server that needs none), OPENAI_BASE_URL for any OpenAI-compatible server; with no DATABASE_URL
or SUPABASE_URL the memories live in an embedded PostgreSQL under MEMORY_DATA_DIR (./data).
LOG_LEVEL shows the logs, which are otherwise silent.`;

/** What the command line asks for: the usage, a chat as a caller, or a mistake to report. */
export type ChatArgs = { help: true } | { user: string } | { problem: string };

/**
 * @param argv the arguments after the script (`process.argv.slice(2)`)
 * @returns `help` when asked (it wins over everything else), the caller's identity, or a
 *   one-line problem (unknown option, stray word, missing or blank `--user`)
 */
export function parseChatArgs(argv: readonly string[]): ChatArgs {
  let values: { user?: string | undefined; help?: boolean | undefined };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        user: { type: 'string', short: 'u' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    if (argv.includes('--help') || argv.includes('-h')) return { help: true };
    // parseArgs' first sentence names the option ("Unknown option '--usr'"); the rest is advice
    // on positionals that does not apply here.
    return { problem: (error as Error).message.split('. ')[0]! };
  }
  if (values.help) return { help: true };
  if (positionals.length > 0) return { problem: `unexpected argument: ${positionals[0]}` };
  if (values.user === undefined || values.user.trim() === '') {
    return { problem: '--user <identity> is required: the caller you are, e.g. --user maya' };
  }
  return { user: values.user };
}
