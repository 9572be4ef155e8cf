/**
 * Anonymous access is denied, checked where it matters: through the real PostgREST with anon
 * and authenticated JWTs (as a browser holding the project's anon key would call it), and
 * directly in Postgres under the anon role. The service role still works.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresMemoryStore } from '../../src/memory/postgres-store.js';
import {
  POSTGREST_BINARY,
  signJwt,
  startTestSupabase,
  type TestSupabase,
} from '../support/postgrest.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';

let server: TestPostgres;
let supabase: TestSupabase;
const victim = `victim-${randomUUID()}`;

describe.skipIf(!POSTGREST_BINARY)('row-level security', () => {
  beforeAll(async () => {
    server = await startTestPostgres();
    supabase = await startTestSupabase(server);
    const store = await PostgresMemoryStore.connect(supabase.databaseUrl);
    await store.save(
      victim,
      [
        {
          category: 'identity',
          key: 'name',
          value: 'Is called Maya',
          confidence: 1,
          source: 'explicit',
        },
      ],
      randomUUID(),
    );
    await store.putGreeting('agent', victim, 'Welcome back, Maya!', 600);
    await store.close();
  });
  afterAll(async () => {
    await supabase?.stop();
    await server?.stop();
  });

  const call = (key: string, path: string, body?: unknown) =>
    fetch(`${supabase.url}/rest/v1/${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { apikey: key, authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  for (const role of ['anon', 'authenticated'] as const) {
    it(`${role}: no table can be read or written`, async () => {
      const key = signJwt({ role, sub: randomUUID() });
      for (const table of ['memories', 'memory_batches', 'greetings']) {
        const read = await call(key, `${table}?select=*`);
        expect(read.status, `${role} reading ${table}`).toBeGreaterThanOrEqual(401);
        expect(read.status).toBeLessThanOrEqual(404);
        expect(await read.text()).not.toContain('Maya');
      }
      const write = await call(key, 'memories', {
        user_id: victim,
        category: 'fact',
        key: 'x',
        value: 'y',
        confidence: 1,
        source: 'explicit',
      });
      expect(write.status).toBeGreaterThanOrEqual(401);
    });

    it(`${role}: no store function can be called`, async () => {
      const key = signJwt({ role });
      const attempts = [
        ['load_memories', { p_user_id: victim, p_limit: 10 }],
        ['save_memories', { p_user_id: victim, p_batch_id: randomUUID(), p_items: [] }],
        ['forget_memories', { p_user_id: victim, p_keys: null }],
        ['get_greeting', { p_agent: 'agent', p_user_id: victim }],
        ['invalidate_greetings', { p_agent: null, p_user_id: null, p_mark_stale: false }],
      ] as const;
      for (const [fn, args] of attempts) {
        const response = await call(key, `rpc/${fn}`, args);
        expect(response.status, `${role} calling ${fn}`).toBeGreaterThanOrEqual(401);
        expect(await response.text()).not.toContain('Maya');
      }
    });
  }

  it('the victim’s data is intact after the attempts, and the service role reaches it', async () => {
    const response = await call(supabase.serviceRoleKey, 'rpc/load_memories', {
      p_user_id: victim,
      p_limit: 10,
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual([expect.objectContaining({ value: 'Is called Maya' })]);
  });

  it('a forged key (wrong signing secret) is rejected', async () => {
    const forged = signJwt(
      { role: 'service_role' },
      'not-the-secret-not-the-secret-not-the-secret',
    );
    const response = await call(forged, 'rpc/load_memories', { p_user_id: victim, p_limit: 10 });
    expect(response.status).toBe(401);
  });

  it('directly in Postgres: the anon role is denied, and RLS hides rows even if a grant slips in', async () => {
    await expect(
      server.query(`set role anon; select * from public.memories;`, supabase.databaseUrl),
    ).rejects.toThrow(/permission denied/);
    await expect(
      server.query(
        `set role anon; select public.load_memories('${victim}', 10);`,
        supabase.databaseUrl,
      ),
    ).rejects.toThrow(/permission denied/);
    // A careless later grant still exposes nothing: no policy lets anon see a row.
    const rows = await server.query(
      `begin; grant select on public.memories to anon; set local role anon;
       select count(*)::int as visible from public.memories; rollback;`,
      supabase.databaseUrl,
    );
    expect(rows.flat()).toContainEqual({ visible: 0 });
  });
});
