/**
 * `npm run chat -- --user maya`: talk to the assistant in a terminal, with no LiveKit at all.
 * The same assistant, memories, greetings and tools as a call, on the same pooled client (see
 * chat-call.ts). Typed lines are the caller's turns; leaving (Ctrl-D, `/bye`, Ctrl-C) hangs up
 * as a caller does: memories saved, the next greeting prepared, everything closed.
 *
 * Exit codes: 0 after a conversation or `--help`; 2 for a mistake on the command line; 1 for a
 * bad configuration or a failure, each said in one line (`chat: …`), never a stack.
 */
import { ConfigError, loadConfig } from '../config/config.js';
import { loadDotEnv } from '../config/dot-env.js';
import { describeError } from '../lib/redact.js';
import { checkCallerIdentity } from '../memory/processor/caller-identity.js';
import { CHAT_USAGE, parseChatArgs } from './chat-args.js';

const notice = (line: string) => process.stderr.write(`chat: ${line}\n`);

async function main(argv: readonly string[]): Promise<number> {
  const args = parseChatArgs(argv);
  if ('help' in args) {
    process.stdout.write(`${CHAT_USAGE}\n`);
    return 0;
  }
  if ('problem' in args) {
    notice(`${args.problem} (npm run chat -- --help)`);
    return 2;
  }
  const identity = checkCallerIdentity(args.user);
  if (!identity.ok) {
    notice(`--user cannot name a caller: ${identity.problem}`);
    return 2;
  }
  loadDotEnv();
  const config = loadConfig(process.env, { requireLiveKit: false });
  // The framework only now: it takes seconds to load, and nothing before needed it.
  const { runChat } = await import('./chat-call.js');
  await runChat(args.user, config, notice);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    // One line a user can act on: every configuration problem at once, or what failed.
    const message =
      error instanceof ConfigError
        ? `invalid configuration: ${error.problems.join('; ')} (set in the environment or .env)`
        : describeError(error);
    notice(message);
    process.exit(1);
  },
);
