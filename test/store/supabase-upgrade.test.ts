/**
 * A Supabase project upgraded without pushing migration 20261201000300 (no `list_memories`): the
 * worker's start says which migration to push, once, and calls keep their memory meanwhile
 * (loaded with `load_memories`). PostgREST in front of a test Postgres, as Supabase runs it.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSupabaseClient } from '../../src/pool/supabase-service.js';
import { prepareMemoryStore } from '../../src/store/prepare-store.js';
import { SupabaseMemoryStore } from '../../src/store/supabase-store.js';
import { captureLogs } from '../memory/support/log-capture.js';
import { testConfig } from '../support/config.js';
import { eventually } from '../support/eventually.js';
import { type TestPostgres, startTestPostgres } from '../support/postgres.js';
import { POSTGREST_BINARY, type TestSupabase, startTestSupabase } from '../support/postgrest.js';

let postgres: TestPostgres;
let supabase: TestSupabase | undefined;
beforeAll(async () => {
  postgres = await startTestPostgres();
  if (POSTGREST_BINARY) supabase = await startTestSupabase(postgres);
});
afterAll(async () => {
  await supabase?.stop();
  await postgres?.stop();
});

describe.skipIf(!POSTGREST_BINARY)('a Supabase schema without list_memories', () => {
  it('the start names the migration to push; calls still load their memories', async () => {
    const { logger, lines: logged } = captureLogs();
    const config = testConfig({
      SUPABASE_URL: supabase!.url,
      SUPABASE_SERVICE_ROLE_KEY: supabase!.serviceRoleKey,
    });
    const store = new SupabaseMemoryStore(
      createSupabaseClient({ url: supabase!.url, serviceRoleKey: supabase!.serviceRoleKey }),
    );
    const user = `upgrade-${randomUUID()}`;
    await store.save(
      user,
      [
        {
          category: 'identity',
          key: 'name',
          value: 'Name is Nora',
          confidence: 1,
          source: 'explicit',
        },
      ],
      randomUUID(),
      new Date(),
    );
    await prepareMemoryStore(config, logger, {});
    expect(logged.filter((l) => l.level === 'error')).toEqual([]);

    await postgres.query(
      `alter function public.list_memories(text, integer) rename to list_memories_hidden;
       notify pgrst, 'reload schema';`,
      supabase!.databaseUrl,
    );
    try {
      await eventually(async () => {
        logged.length = 0;
        await prepareMemoryStore(config, logger, {});
        expect(logged.filter((l) => l.level === 'error').map((l) => l.msg)).toEqual([
          expect.stringContaining('push supabase/migrations/20261201000300_memory_load_cap.sql'),
        ]);
      });
      expect((await store.load(user, 5_000)).map((m) => m.value)).toEqual(['Name is Nora']);
    } finally {
      await postgres.query(
        `alter function public.list_memories_hidden(text, integer) rename to list_memories;
         notify pgrst, 'reload schema';`,
        supabase!.databaseUrl,
      );
    }
  }, 30_000);
});
