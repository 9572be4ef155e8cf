/** supabase-js as this worker uses it: server-side, no session, a WebSocket transport on Node 20. */
import { type SupabaseClient, createClient } from '@supabase/supabase-js';
import { WebSocket } from 'ws';

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
