/** Supabase as the pool carries it, and supabase-js as this worker uses it. */
import { type SupabaseClient, createClient } from '@supabase/supabase-js';
import { WebSocket } from 'ws';
import type { PoolService } from './pool-service.js';

export const supabaseService: PoolService<SupabaseClient> = {
  name: 'supabase',
  isConfigured: (config) => config.supabase !== undefined,
  build: ({ config, fetch }) => createSupabaseClient(configured(config.supabase), fetch),
  // The gateway's REST root with the key: cheap, and answered by the same front end the store
  // talks to.
  ping: async (_client, { config, fetch }, signal) => {
    const { url, serviceRoleKey } = configured(config.supabase);
    const response = await fetch(`${url}/rest/v1/`, {
      method: 'GET',
      headers: { apikey: serviceRoleKey, authorization: `Bearer ${serviceRoleKey}` },
      ...(signal ? { signal } : {}),
    });
    // Drain the body so the connection goes back to the pool.
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
  },
  // One: a Supabase memory store warms itself up beside it, on the same client.
  warmUpRequests: 1,
  keepWarmConnections: 2,
  replaceAfterAbort: false,
};

function configured<T>(settings: T | undefined): T {
  if (settings === undefined) throw new Error('Supabase is not configured');
  return settings;
}

/**
 * A server-side supabase-js client: no session, a WebSocket transport on Node 20.
 *
 * @param settings - the project URL and its service-role key
 * @param fetch - the fetch to send through (the pool's counted one); Node's global one if absent
 * @returns the client
 */
export function createSupabaseClient(
  settings: { url: string; serviceRoleKey: string },
  fetch?: typeof globalThis.fetch,
): SupabaseClient {
  return createClient(settings.url, settings.serviceRoleKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    ...(fetch ? { global: { fetch } } : {}),
    // Node 20 has no global WebSocket; supabase-js needs one for its realtime client.
    realtime: { transport: WebSocket as never },
  });
}
