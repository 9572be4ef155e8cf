/**
 * The memory store for a short operator command, made ready exactly as the worker makes it
 * (`prepareMemoryStore`): Supabase or `DATABASE_URL` as configured, else the embedded PostgreSQL
 * under `MEMORY_DATA_DIR`, started when no worker runs it; migrations applied either way, so a
 * fresh data directory works. The command leaves that Postgres before it ends: when it was its
 * last user, stopped and waited for, so the next command never finds one still shutting down.
 */
import type { Config } from '../config/config.js';
import { secretsOf } from '../config/secrets.js';
import type { Logger } from '../lib/logger.js';
import { describeError } from '../lib/redact.js';
import { createSupabaseClient } from '../pool/supabase-service.js';
import type { MemoryAndGreetingStore } from '../store/memory-store.js';
import { PostgresMemoryStore } from '../store/postgres-store.js';
import { prepareMemoryStore } from '../store/prepare-store.js';
import { SupabaseMemoryStore } from '../store/supabase-store.js';
import type { Printer } from './command-line.js';

/** The store, and how to let it go: closes it and leaves the embedded Postgres. */
export interface CommandStore {
  store: MemoryAndGreetingStore;
  close(): Promise<void>;
}

/** The store could not be made ready; what went wrong was printed already. */
export class StoreNotReadyError extends Error {
  constructor() {
    super('the memory store is not ready: nothing was changed');
    this.name = 'StoreNotReadyError';
  }
}

/**
 * Prepares the configured store (what went wrong is printed, one line each) and opens it.
 * @param config the validated configuration
 * @param name the command's name, which starts every line it prints
 * @param print where those lines go
 * @returns the store, opened with one connection (the worker's pool is for long-lived
 *   processes), and its `close`, to await when done
 * @throws {@link StoreNotReadyError} when the store cannot be started or migrated
 */
export async function openCommandStore(
  config: Config,
  name: string,
  print: Printer,
): Promise<CommandStore> {
  const env: NodeJS.ProcessEnv = {};
  const prepared = await prepareMemoryStore(config, problemsLogger(name, print), env);
  if (prepared.kind === 'none' || (prepared.kind === 'postgres' && !prepared.migrated)) {
    throw new StoreNotReadyError();
  }
  const url = prepared.kind === 'embedded' ? env.DATABASE_URL : config.databaseUrl;
  const store = config.supabase
    ? new SupabaseMemoryStore(createSupabaseClient(config.supabase))
    : PostgresMemoryStore.open(url!, { maxConnections: 1 }); // prepared: a URL is set
  return {
    store,
    close: async () => {
      await store.close();
      // Left as its last user would leave it: stopped, and waited for, unless a worker (or
      // another command) still uses it. A failure is said; the exit hook and watchdog remain.
      if (prepared.kind !== 'embedded') return;
      await prepared.stop().catch((error: unknown) => {
        print.note(
          `${name}: embedded PostgreSQL not left cleanly (${describeError(error, secretsOf(config))})\n`,
        );
      });
    },
  };
}

/**
 * A logger for `prepareMemoryStore` in a command: its warnings and errors as one line each
 * (with the redacted error it logs), the rest dropped. Only the methods it calls are real.
 */
function problemsLogger(name: string, print: Printer): Logger {
  const line = (fields: Record<string, unknown> | string, message?: string) => {
    const text = typeof fields === 'string' ? fields : (message ?? '');
    const error = typeof fields === 'object' && fields.error ? ` (${String(fields.error)})` : '';
    // The worker's words for what it does next do not apply to a command that stops here.
    print.note(`${name}: ${text.replace(/: calls go on.*$/, '')}${error}\n`);
  };
  const logger = { debug: () => {}, info: () => {}, warn: line, error: line };
  return { ...logger, child: () => logger } as unknown as Logger;
}
