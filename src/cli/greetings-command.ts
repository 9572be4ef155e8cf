/**
 * Operator command: drop (or mark stale) the prepared greetings callers hear first, in the store
 * the worker uses. Touching more than one caller takes an explicit `--all`.
 */
import { loadConfig } from '../config/config.js';
import { loadDotEnv } from '../config/dot-env.js';
import { secretsOf } from '../config/secrets.js';
import { describeError } from '../lib/redact.js';
import { type Command, EXIT, UsageError, readCommandLine } from './command-line.js';
import { openCommandStore } from './command-store.js';

const HELP = `usage: npm run greetings -- invalidate (--user <identity> | --all) [--agent <name> | --all-agents] [--stale]

Drops the greetings prepared for callers' next calls, so the next call gets a fresh one.

  --user <identity>  one caller (the room participant's identity)
  --all              every caller: required to touch more than one
  --agent <name>     greetings of this agent (default: LIVEKIT_AGENT_NAME, or "default")
  --all-agents       greetings of every agent
  --stale            keep them usable, marked to be written again, instead of deleting them
  --help, -h         this text

Examples:
  npm run greetings -- invalidate --user maya             Maya's greeting for this agent
  npm run greetings -- invalidate --all --agent shop      every greeting of agent "shop"
  npm run greetings -- invalidate --all --all-agents      every greeting there is

Store: SUPABASE_URL, or DATABASE_URL, or the embedded PostgreSQL under MEMORY_DATA_DIR (./data),
read from the environment, then .env, as the worker reads them. The embedded one is started when
no worker runs it (migrations applied) and stopped when the command ends.
Prints one JSON line on stdout ({"affected", "agent", "user", "stale"}) and what was done on
stderr. Exit status: 0 done, 1 failed (store or configuration), 2 a wrong command line.`;

/** Who is affected: one caller or all, for one agent or all (undefined: all). */
interface Scope {
  user: string | undefined;
  agent: string | undefined;
  stale: boolean;
}

/** `npm run greetings`: run by `greetings.ts`, tested through `executeCommand`. */
export const greetingsCommand: Command = {
  name: 'greetings',
  help: HELP,
  async run(argv, print) {
    const words = readWords(argv);
    loadDotEnv();
    const config = loadConfig(process.env, { requireOpenAI: false });
    const scope: Scope = {
      user: words.user,
      agent: words.allAgents ? undefined : (words.agent ?? (config.livekit.agentName || 'default')),
      stale: words.stale,
    };
    const { store, close } = await openCommandStore(config, greetingsCommand.name, print);
    try {
      const affected = await store.invalidateGreetings({
        agent: scope.agent,
        userId: scope.user,
        markStale: scope.stale,
      });
      const { user, agent, stale } = scope;
      print.out(
        `${JSON.stringify({ affected, agent: agent ?? 'all', user: user ?? 'all', stale })}\n`,
      );
      print.note(`greetings: ${whatWasDone(affected, scope)}\n`);
      return EXIT.ok;
    } catch (error) {
      print.note(`greetings: ${describeError(error, secretsOf(config))}: nothing was changed\n`);
      return EXIT.failed;
    } finally {
      await close();
    }
  },
};

/**
 * The command line, checked before anything is touched.
 * @throws {@link UsageError} for anything but `invalidate` with exactly one caller scope
 */
function readWords(argv: readonly string[]) {
  const { values, positionals } = readCommandLine(argv, {
    user: { type: 'string' },
    all: { type: 'boolean', default: false },
    agent: { type: 'string' },
    'all-agents': { type: 'boolean', default: false },
    stale: { type: 'boolean', default: false },
  });
  const [command, ...rest] = positionals;
  if (command === undefined) throw new UsageError('say what to do: invalidate');
  if (command !== 'invalidate') throw new UsageError(`unknown command: ${command}`);
  if (rest.length > 0) throw new UsageError(`unexpected argument: ${rest[0]}`);
  const { user, all, agent, stale } = values;
  if (user !== undefined && user.trim() === '') throw new UsageError('--user needs an identity');
  if (user === undefined && !all) {
    throw new UsageError('say whose greetings: --user <identity>, or --all for every caller');
  }
  if (user !== undefined && all) throw new UsageError('--user and --all exclude each other');
  if (agent !== undefined && values['all-agents']) {
    throw new UsageError('--agent and --all-agents exclude each other');
  }
  if (agent !== undefined && agent.trim() === '') throw new UsageError('--agent needs a name');
  return { user, agent, allAgents: values['all-agents'], stale };
}

/** e.g. "deleted 3 greetings (every caller, agent "shop")". */
function whatWasDone(affected: number, { user, agent, stale }: Scope): string {
  const verb = stale ? 'marked stale' : 'deleted';
  const noun = affected === 1 ? 'greeting' : 'greetings';
  const callers = user === undefined ? 'every caller' : `caller "${user}"`;
  const agents = agent === undefined ? 'every agent' : `agent "${agent}"`;
  return `${verb} ${affected} ${noun} (${callers}, ${agents})`;
}
