/**
 * Runs once, in the main worker process, before any job process is forked: makes the memory
 * store ready for the jobs. Postgres by URL gets its migrations; with no store configured an
 * embedded PostgreSQL is started and its URL handed to the jobs through the environment they
 * inherit. Supabase projects are migrated with the Supabase CLI (`supabase db push`).
 *
 * A store that cannot be made ready is logged and the worker starts anyway: callers get an
 * assistant without memory rather than no assistant.
 */
import type { Config } from '../config/config.js';
import type { Logger } from '../lib/logger.js';
import { describeError } from '../lib/redact.js';
import { createSupabaseClient } from '../pool/supabase-service.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { MemoryStoreError } from './memory-store.js';
import { PostgresMemoryStore } from './postgres-store.js';
import { SupabaseMemoryStore } from './supabase-store.js';

export type PreparedStore =
  | { kind: 'supabase' }
  | { kind: 'postgres'; migrated: boolean }
  | {
      kind: 'embedded';
      port: number;
      reused: boolean;
      /** The server's pid when this process started it. */
      pid?: number | undefined;
      /** Leaves the server: the last of its users (workers, `chat`) stops it and waits. */
      stop: () => Promise<void>;
      /** Processes of ours that must outlive us (the server, its watchdog): never reap them. */
      ownPids: () => number[];
    }
  | { kind: 'none'; reason: string };

export interface PrepareOptions {
  /**
   * Watch the embedded PostgreSQL and start it again when it disappears (the worker does; a
   * short command that stops it itself does not). Default false.
   */
  keepEmbeddedRunning?: boolean;
}

/**
 * Run once by the main worker process, before any job process is forked: checks Supabase's
 * schema, or applies migrations to `DATABASE_URL`, or starts the embedded Postgres and sets
 * `DATABASE_URL` in `env` for the job processes. A store that cannot be prepared is logged and
 * reported as `none`: the worker still serves calls, without memory.
 * @param config the validated configuration
 * @param logger where the outcome is logged (never a credential)
 * @param env the environment job processes inherit
 * @param options whether to keep the embedded PostgreSQL running
 * @returns what was prepared
 */
export async function prepareMemoryStore(
  config: Config,
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env,
  options: PrepareOptions = {},
): Promise<PreparedStore> {
  if (config.supabase) {
    await checkSupabaseSchema(config.supabase, logger);
    return { kind: 'supabase' };
  }
  if (config.databaseUrl) {
    const migrated = await migrate(config.databaseUrl, logger, [
      new URL(config.databaseUrl).password,
    ]);
    return { kind: 'postgres', migrated };
  }

  let embedded;
  try {
    embedded = await startEmbeddedPostgres({
      dataDir: config.dataDir,
      port: config.embeddedPostgresPort,
      onLog: (line) => logger.debug({ postgres: line }, 'embedded postgres'),
    });
  } catch (error) {
    const reason = describeError(error);
    logger.error(
      { error: reason, dataDir: config.dataDir },
      'embedded PostgreSQL could not start: calls go on without memory',
    );
    return { kind: 'none', reason };
  }
  // Left when the worker exits (after the framework has drained its jobs): the last user stops it.
  process.once('exit', () => embedded.stopOnExit());
  if (options.keepEmbeddedRunning) embedded.keepRunning(logger);
  env.DATABASE_URL = embedded.url;
  await migrate(embedded.url, logger, [embedded.password]);
  logger.info(
    {
      port: embedded.port,
      dataDir: config.dataDir,
      postgresPid: embedded.pid,
      reused: !embedded.started,
    },
    embedded.started
      ? 'embedded PostgreSQL started'
      : 'embedded PostgreSQL already running: reused (the last worker using it stops it)',
  );
  return {
    kind: 'embedded',
    port: embedded.port,
    reused: !embedded.started,
    pid: embedded.pid,
    stop: () => embedded.stop(),
    ownPids: () => embedded.ownPids(),
  };
}

/**
 * Supabase projects are migrated with the Supabase CLI, not by the worker: say so at start when
 * the schema is missing, rather than let every call find out.
 */
async function checkSupabaseSchema(
  supabase: { url: string; serviceRoleKey: string },
  logger: Logger,
): Promise<void> {
  const store = new SupabaseMemoryStore(createSupabaseClient(supabase));
  try {
    await store.ping();
    if (!(await store.hasListMemories())) {
      logger.error(
        'the memory schema in Supabase predates list_memories: push supabase/migrations/20261201000300_memory_load_cap.sql with `supabase db push` (until then a call loads at most PostgREST\'s "Max rows" memories)',
      );
    }
  } catch (error) {
    const missing = error instanceof MemoryStoreError && error.code === 'PGRST202';
    logger.error(
      { error: describeError(error, [supabase.serviceRoleKey]) },
      missing
        ? 'the memory schema is missing in Supabase: apply supabase/migrations with `supabase db push`'
        : 'Supabase memory store not reachable at start: calls go on, memory may be unavailable',
    );
  }
}

async function migrate(url: string, logger: Logger, secrets: string[]): Promise<boolean> {
  try {
    const store = await PostgresMemoryStore.connect(url, { applyMigrations: true });
    await store.close();
    return true;
  } catch (error) {
    logger.error(
      { error: describeError(error, secrets) },
      'memory store migrations failed: calls go on, memory may be unavailable',
    );
    return false;
  }
}
