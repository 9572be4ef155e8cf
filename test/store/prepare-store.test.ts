/** What the main worker process does for the store before it forks any job process. */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSupabaseClient } from '../../src/pool/supabase-service.js';
import { MIGRATIONS_DIR } from '../../src/store/migrations.js';
import { PostgresMemoryStore } from '../../src/store/postgres-store.js';
import { prepareMemoryStore } from '../../src/store/prepare-store.js';
import { SupabaseMemoryStore } from '../../src/store/supabase-store.js';
import { captureLogs } from '../memory/support/log-capture.js';
import { testConfig } from '../support/config.js';
import { eventually } from '../support/eventually.js';
import { type TestPostgres, startTestPostgres } from '../support/postgres.js';
import { POSTGREST_BINARY, type TestSupabase, startTestSupabase } from '../support/postgrest.js';

let postgres: TestPostgres;
let supabase: TestSupabase | undefined;
const dirs: string[] = [];
beforeAll(async () => {
  postgres = await startTestPostgres();
  if (POSTGREST_BINARY) supabase = await startTestSupabase(postgres);
});
afterAll(async () => {
  await supabase?.stop();
  await postgres?.stop();
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/**
 * A Supabase project upgraded without pushing migration 20261201000300 (no `list_memories`): the
 * worker's start says which migration to push, once, and calls keep their memory meanwhile
 * (loaded with `load_memories`). First in this file: the tests below take the schema away.
 */
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

describe('preparing the memory store in the main process', () => {
  it('DATABASE_URL: applies the migration once, and a second start finds nothing to do', async () => {
    const url = await postgres.createDatabase({ migrate: false });
    const { logger, lines: logged } = captureLogs();
    expect(await prepareMemoryStore(testConfig({ DATABASE_URL: url }), logger, {})).toEqual({
      kind: 'postgres',
      migrated: true,
    });
    expect(await prepareMemoryStore(testConfig({ DATABASE_URL: url }), logger, {})).toEqual({
      kind: 'postgres',
      migrated: true,
    });
    const tracked = await postgres.query<{ name: string }>(
      'select name from memory_agent.migrations order by name',
      url,
    );
    // Each migration in the folder, once.
    const migrations = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
    expect(migrations.length).toBeGreaterThan(1);
    expect(tracked.map((t) => t.name)).toEqual(migrations);
    expect(logged.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('an unreachable DATABASE_URL is logged without its password, and the worker goes on', async () => {
    const { logger, lines: logged } = captureLogs();
    const url = 'postgres://agent:very-secret-password-123@127.0.0.1:1/memories';
    expect(await prepareMemoryStore(testConfig({ DATABASE_URL: url }), logger, {})).toEqual({
      kind: 'postgres',
      migrated: false,
    });
    const errors = logged.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.msg).toMatch(/migrations failed/);
    expect(JSON.stringify(errors)).not.toContain('very-secret-password-123');
  });

  it('nothing configured: starts the embedded Postgres, migrated, and hands its URL to the jobs', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'prepare-'));
    dirs.push(dataDir);
    const env: NodeJS.ProcessEnv = {};
    const { logger, lines: logged } = captureLogs();
    const prepared = await prepareMemoryStore(
      testConfig({ MEMORY_DATA_DIR: dataDir }),
      logger,
      env,
    );
    expect(prepared).toMatchObject({ kind: 'embedded', reused: false });
    expect(env.DATABASE_URL).toMatch(/^postgres:\/\/postgres:.+@127\.0\.0\.1:\d+\/postgres$/);
    const started = logged.find((l) => l.msg === 'embedded PostgreSQL started');
    expect(started?.fields).toMatchObject({ port: expect.any(Number), dataDir });
    expect(JSON.stringify(logged)).not.toContain(new URL(env.DATABASE_URL!).password);

    // A job process reaches it through the inherited URL; a second worker reuses it.
    const store = await PostgresMemoryStore.connect(env.DATABASE_URL!);
    await store.ping();
    await store.close();
    const second: NodeJS.ProcessEnv = {};
    expect(
      await prepareMemoryStore(testConfig({ MEMORY_DATA_DIR: dataDir }), logger, second),
    ).toMatchObject({ kind: 'embedded', reused: true });
    expect(second.DATABASE_URL).toBe(env.DATABASE_URL);
    // The worker stops it on exit; here the test does, as that exit hook would (a fast shutdown).
    process.kill((prepared as { pid: number }).pid, 'SIGINT');
    await eventually(() =>
      expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false),
    );
  });

  it.skipIf(!POSTGREST_BINARY)(
    'Supabase without the schema: says to run `supabase db push`',
    async () => {
      const { logger, lines: logged } = captureLogs();
      const config = testConfig({
        SUPABASE_URL: supabase!.url,
        SUPABASE_SERVICE_ROLE_KEY: supabase!.serviceRoleKey,
      });
      expect(await prepareMemoryStore(config, logger, {})).toEqual({ kind: 'supabase' });
      expect(logged.filter((l) => l.level === 'error')).toEqual([]);

      await postgres.query(
        `alter function public.memory_store_ping() rename to memory_store_ping_hidden;
       notify pgrst, 'reload schema';`,
        supabase!.databaseUrl,
      );
      try {
        await eventually(async () => {
          logged.length = 0;
          await prepareMemoryStore(config, logger, {});
          expect(logged.map((l) => l.msg)).toContain(
            'the memory schema is missing in Supabase: apply supabase/migrations with `supabase db push`',
          );
        });
        expect(JSON.stringify(logged)).not.toContain(supabase!.serviceRoleKey);
      } finally {
        await postgres.query(
          `alter function public.memory_store_ping_hidden() rename to memory_store_ping;
         notify pgrst, 'reload schema';`,
          supabase!.databaseUrl,
        );
      }
    },
  );
});
