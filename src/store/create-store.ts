/**
 * Picks the store for this process from configuration, without a round trip (the pool warms it
 * up and health-checks it): Supabase when configured, else Postgres by `DATABASE_URL`. The
 * embedded Postgres reaches job processes as a `DATABASE_URL` the main process set.
 */
import type { SupabaseClient } from '@supabase/supabase-js';
import type { Config } from '../config/config.js';
import type { MemoryAndGreetingStore } from './memory-store.js';
import { MemoryStoreError } from './memory-store.js';
import { PostgresMemoryStore } from './postgres-store.js';
import { SupabaseMemoryStore } from './supabase-store.js';

/**
 * @param config picks the store: Supabase, else `DATABASE_URL`
 * @param clients the pool's Supabase client (the Supabase store runs on it)
 * @returns the store, not yet connected
 * @throws {@link MemoryStoreError} (`config`) when no store is configured, or Supabase is
 *   configured but its client was not built
 */
export function createMemoryStore(
  config: Config,
  clients: { supabase?: SupabaseClient | undefined },
): MemoryAndGreetingStore {
  if (config.supabase) {
    if (!clients.supabase) {
      throw new MemoryStoreError('Supabase is configured but its client was not built', 'config');
    }
    return new SupabaseMemoryStore(clients.supabase);
  }
  if (config.databaseUrl) {
    return PostgresMemoryStore.open(config.databaseUrl, {
      maxConnections: config.memory.storeConnections,
    });
  }
  throw new MemoryStoreError(
    'no memory store configured: set SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY, or DATABASE_URL, ' +
      'or start the worker with `node dist/agent.js start`, which runs an embedded Postgres',
    'config',
  );
}
