/**
 * Anonymous access is denied, checked where it matters: through the real PostgREST with anon
 * and authenticated JWTs (as a browser holding the project's anon key would call it), and
 * directly in Postgres under the anon role. The service role still works.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresMemoryStore } from '../../src/store/postgres-store.js';
import { type TestPostgres, startTestPostgres } from '../support/postgres.js';
import {
  POSTGREST_BINARY,
  type TestSupabase,
  signJwt,
  startTestSupabase,
} from '../support/postgrest.js';

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
      new Date(),
    );
    await store.forget(victim, ['old_city']); // a fence row of the victim's, to attack
    await store.putGreeting('agent', victim, 'Welcome back, Maya!', 600);
    await store.putGreetingAudio('agent', victim, 'Welcome back, Maya!', {
      key: 'k',
      sampleRate: 24000,
      pcm: new Uint8Array([7, 7, 7, 7]),
    });
    await store.close();
  });
  afterAll(async () => {
    await supabase?.stop();
    await server?.stop();
  });

  const call = (key: string, path: string, body?: unknown, method?: 'PATCH' | 'DELETE') =>
    fetch(`${supabase.url}/rest/v1/${path}`, {
      method: method ?? (body === undefined ? 'GET' : 'POST'),
      headers: { apikey: key, authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  /**
   * PostgREST's own denial, nothing else (a gateway's 502 or a missing route's 404 is not one):
   * 42501 (insufficient privilege), as 401 for anon and 403 for an authenticated caller.
   */
  const expectDenied = async (
    response: Response,
    role: 'anon' | 'authenticated',
    what: string,
  ): Promise<void> => {
    const text = await response.text();
    expect(response.status, `${role}: ${what}`).toBe(role === 'anon' ? 401 : 403);
    expect(JSON.parse(text), `${role}: ${what}`).toMatchObject({
      code: '42501',
      message: expect.stringMatching(/^permission denied for (table|function) /),
    });
    expect(text).not.toContain('Maya');
  };

  const tables = ['memories', 'memory_batches', 'greetings', 'memory_forgets'];

  for (const role of ['anon', 'authenticated'] as const) {
    it(`${role}: no table can be read or written`, async () => {
      const key = signJwt({ role, sub: randomUUID() });
      for (const table of tables) {
        await expectDenied(await call(key, `${table}?select=*`), role, `reading ${table}`);
        await expectDenied(
          await call(key, `${table}?user_id=eq.${victim}`, undefined, 'DELETE'),
          role,
          `deleting from ${table}`,
        );
        await expectDenied(
          await call(key, `${table}?user_id=eq.${victim}`, { user_id: 'someone-else' }, 'PATCH'),
          role,
          `updating ${table}`,
        );
      }
      await expectDenied(
        await call(key, 'memories', {
          user_id: victim,
          category: 'fact',
          key: 'x',
          value: 'y',
          confidence: 1,
          source: 'explicit',
        }),
        role,
        'inserting a memory',
      );
      await expectDenied(
        await call(key, 'memory_forgets', {
          user_id: victim,
          key: '',
          forgotten_at: '2000-01-01T00:00:00Z',
        }),
        role,
        'moving a fence',
      );
    });

    it(`${role}: no store function can be called`, async () => {
      const key = signJwt({ role });
      const attempts = [
        ['load_memories', { p_user_id: victim, p_limit: 10 }],
        [
          'save_memories',
          {
            p_user_id: victim,
            p_batch_id: randomUUID(),
            p_items: [],
            p_heard_at: new Date().toISOString(),
          },
        ],
        ['forget_memories', { p_user_id: victim, p_keys: null }],
        ['get_greeting', { p_agent: 'agent', p_user_id: victim }],
        ['put_greeting', { p_agent: 'agent', p_user_id: victim, p_text: 'Hi', p_ttl_seconds: 60 }],
        [
          'put_greeting_audio',
          {
            p_agent: 'agent',
            p_user_id: victim,
            p_text: 'Welcome back, Maya!',
            p_key: 'k',
            p_sample_rate: 24000,
            p_audio: 'AAAA',
          },
        ],
        ['invalidate_greetings', { p_agent: null, p_user_id: null, p_mark_stale: false }],
        ['memory_store_ping', {}],
      ] as const;
      for (const [fn, args] of attempts) {
        await expectDenied(await call(key, `rpc/${fn}`, args), role, `calling ${fn}`);
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
    const fences = await server.query(
      `select key from public.memory_forgets where user_id = '${victim}'`,
      supabase.databaseUrl,
    );
    expect(fences).toEqual([{ key: 'old_city' }]);
    const greeting = await call(supabase.serviceRoleKey, 'rpc/get_greeting', {
      p_agent: 'agent',
      p_user_id: victim,
    });
    expect(await greeting.json()).toEqual([
      expect.objectContaining({ text: 'Welcome back, Maya!', audio: 'BwcHBw==', audio_key: 'k' }),
    ]);
  });

  it('a forged key (wrong signing secret) is rejected', async () => {
    const forged = signJwt(
      { role: 'service_role' },
      'not-the-secret-not-the-secret-not-the-secret',
    );
    const response = await call(forged, 'rpc/load_memories', { p_user_id: victim, p_limit: 10 });
    expect(response.status).toBe(401);
    const body = await response.text();
    expect(JSON.parse(body)).toMatchObject({ code: 'PGRST301' });
    expect(body).not.toContain('Maya');
  });

  it('directly in Postgres: the anon role is denied, and RLS hides rows even if a grant slips in', async () => {
    await expect(
      server.query(`set role anon; select * from public.memories;`, supabase.databaseUrl),
    ).rejects.toThrow(/permission denied for table memories/);
    await expect(
      server.query(
        `set role anon; select public.load_memories('${victim}', 10);`,
        supabase.databaseUrl,
      ),
    ).rejects.toThrow(/permission denied for function load_memories/);
    await expect(
      server.query(`set role anon; select * from public.memory_forgets;`, supabase.databaseUrl),
    ).rejects.toThrow(/permission denied for table memory_forgets/);
    await expect(
      server.query(
        `set role anon; select nextval('public.memories_id_seq');`,
        supabase.databaseUrl,
      ),
    ).rejects.toThrow(/permission denied for sequence memories_id_seq/);
    // A careless later grant still exposes nothing: no policy lets anon see a row.
    const rows = await server.query(
      `begin; grant select on public.memories to anon; set local role anon;
       select count(*)::int as visible from public.memories; rollback;`,
      supabase.databaseUrl,
    );
    expect(rows.flat()).toContainEqual({ visible: 0 });
  });
});
