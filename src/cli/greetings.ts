/**
 * Operator command: drop (or mark stale) prepared greetings in the shared store.
 *
 *   node dist/cli/greetings.js invalidate --user <identity> [--agent <name> | --all-agents] [--stale]
 *   node dist/cli/greetings.js invalidate --all-agents            (everything)
 *
 * Uses the same store the worker uses (Supabase, DATABASE_URL, or the embedded Postgres under
 * MEMORY_DATA_DIR, reused if a worker is running). Prints one JSON line: what was affected.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/config.js';
import { loadDotEnv } from '../config/dot-env.js';
import { secretsOf } from '../config/secrets.js';
import { describeError } from '../lib/redact.js';
import { createSupabaseClient } from '../pool/supabase-service.js';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../store/embedded-postgres.js';
import { PostgresMemoryStore } from '../store/postgres-store.js';
import { SupabaseMemoryStore } from '../store/supabase-store.js';

const USAGE =
  'usage: npm run greetings -- invalidate [--user <identity>] [--agent <name> | --all-agents] [--stale]';

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      user: { type: 'string' },
      agent: { type: 'string' },
      'all-agents': { type: 'boolean', default: false },
      stale: { type: 'boolean', default: false },
    },
  });
  if (positionals[0] !== 'invalidate' || (values.agent && values['all-agents'])) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  loadDotEnv();
  const config = loadConfig(process.env, { requireOpenAI: false });
  const agent = values['all-agents']
    ? undefined
    : (values.agent ?? (config.livekit.agentName || 'default'));

  let embedded: EmbeddedPostgres | undefined;
  if (!config.supabase && !config.databaseUrl) {
    embedded = await startEmbeddedPostgres({ dataDir: config.dataDir });
    config.databaseUrl = embedded.url;
  }
  // One short command: a plain client is enough (the worker's pool is for long-lived processes).
  const store = config.supabase
    ? new SupabaseMemoryStore(createSupabaseClient(config.supabase))
    : PostgresMemoryStore.open(config.databaseUrl!, { maxConnections: 1 });
  try {
    const affected = await store.invalidateGreetings({
      agent,
      userId: values.user,
      markStale: values.stale,
    });
    process.stdout.write(
      `${JSON.stringify({ affected, agent: agent ?? 'all', user: values.user ?? 'all', stale: values.stale })}\n`,
    );
    return 0;
  } catch (error) {
    process.stderr.write(`greetings: ${describeError(error, secretsOf(config))}\n`);
    return 1;
  } finally {
    await store.close();
    await embedded?.stop();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message = error instanceof ConfigError ? error.message : describeError(error);
    process.stderr.write(`greetings: ${message}\n`);
    process.exit(1);
  },
);
