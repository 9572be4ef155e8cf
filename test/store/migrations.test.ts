import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MIGRATIONS_DIR,
  MigrationChecksumError,
  applyMigrations,
  readMigrations,
} from '../../src/store/migrations.js';
import { PostgresMemoryStore } from '../../src/store/postgres-store.js';
import { type TestPostgres, startTestPostgres } from '../support/postgres.js';
import { createSupabaseDatabase } from '../support/postgrest.js';

let server: TestPostgres;
beforeAll(async () => {
  server = await startTestPostgres();
});
afterAll(async () => server?.stop());

async function withSql<T>(url: string, use: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    return await use(sql);
  } finally {
    await sql.end();
  }
}

describe('migrations', () => {
  it('follow the Supabase CLI naming convention', async () => {
    const migrations = await readMigrations();
    expect(migrations.length).toBeGreaterThan(0);
    for (const { name } of migrations) expect(name).toMatch(/^\d{14}_[a-z0-9_]+\.sql$/);
  });

  it('apply on plain Postgres (no Supabase roles) once, and are tracked', async () => {
    const url = await server.createDatabase({ migrate: false });
    const roles = await server.query(
      `select 1 from pg_roles where rolname in ('anon', 'service_role')`,
    );
    expect(roles).toEqual([]);

    const first = await withSql(url, (sql) => applyMigrations(sql));
    expect(first).toEqual((await readMigrations()).map((m) => m.name));
    expect(await withSql(url, (sql) => applyMigrations(sql))).toEqual([]);
    const tracked = await server.query<{ name: string }>(
      'select name from memory_agent.migrations',
      url,
    );
    expect(tracked.map((r) => r.name)).toEqual(first);
  });

  it('several workers starting at once apply each migration exactly once', async () => {
    const url = await server.createDatabase({ migrate: false });
    const results = await Promise.all(
      Array.from({ length: 4 }, () => withSql(url, (sql) => applyMigrations(sql))),
    );
    expect(results.flat()).toEqual((await readMigrations()).map((m) => m.name));
  });

  it('refuses a migration edited after it was applied', async () => {
    const url = await server.createDatabase({ migrate: false });
    const dir = await mkdtemp(join(tmpdir(), 'migrations-'));
    try {
      const [first] = await readMigrations();
      await writeFile(join(dir, first!.name), first!.sql);
      await withSql(url, (sql) => applyMigrations(sql, dir));
      await writeFile(
        join(dir, first!.name),
        `${await readFile(join(MIGRATIONS_DIR, first!.name), 'utf8')}\n-- edited`,
      );
      await expect(withSql(url, (sql) => applyMigrations(sql, dir))).rejects.toBeInstanceOf(
        MigrationChecksumError,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('turn row-level security on for every table', async () => {
    const rows = await server.query<{ relname: string; relrowsecurity: boolean }>(
      `select relname, relrowsecurity from pg_class
        where relnamespace = 'public'::regnamespace and relkind = 'r' order by relname`,
    );
    expect(rows).toEqual([
      { relname: 'greetings', relrowsecurity: true },
      { relname: 'memories', relrowsecurity: true },
      { relname: 'memory_batches', relrowsecurity: true },
      { relname: 'memory_forgets', relrowsecurity: true },
    ]);
  });

  it('pin search_path on every function, and leave no save_memories without a heard time', async () => {
    const functions = await server.query<{ signature: string; proconfig: string[] | null }>(
      `select p.oid::regprocedure::text as signature, p.proconfig from pg_proc p
        where p.pronamespace = 'public'::regnamespace order by 1`,
    );
    expect(functions.map((f) => f.signature)).toEqual([
      'forget_memories(text,text[])',
      'get_greeting(text,text)',
      'invalidate_greetings(text,text,boolean)',
      'list_memories(text,integer)',
      'load_memories(text,integer)',
      'memory_store_ping()',
      'put_greeting(text,text,text,integer)',
      'put_greeting_audio(text,text,text,text,integer,text)',
      'save_memories(text,text,jsonb,timestamp with time zone)',
    ]);
    for (const { signature, proconfig } of functions) {
      expect(proconfig, signature).toContain('search_path=public, pg_temp');
    }
  });

  it('upgrade in place: a batch recorded before the fence existed replays as not forgotten', async () => {
    const url = await server.createDatabase({ migrate: false });
    const dir = await mkdtemp(join(tmpdir(), 'migrations-'));
    const user = `user-${randomUUID()}`;
    try {
      const [first] = await readMigrations();
      await writeFile(join(dir, first!.name), first!.sql);
      await withSql(url, (sql) => applyMigrations(sql, dir));
      await server.query(
        `select public.save_memories('${user}', 'before-upgrade',
           '[{"category":"fact","key":"a","value":"Fact A","confidence":1,"source":"explicit"}]')`,
        url,
      );
      expect(await withSql(url, (sql) => applyMigrations(sql))).toEqual(
        (await readMigrations()).slice(1).map((m) => m.name),
      );
      const store = await PostgresMemoryStore.connect(url);
      try {
        expect(
          await store.save(
            user,
            [{ category: 'fact', key: 'a', value: 'Fact A', confidence: 1, source: 'explicit' }],
            'before-upgrade',
            new Date(),
          ),
        ).toEqual({ inserted: 1, updated: 0, unchanged: 0, replayed: true, forgotten: false });
      } finally {
        await store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('migrations on a database set up as Supabase sets one up', () => {
  // Its own server: the roles are cluster-wide, and the plain-Postgres test wants none.
  let supabaseLike: TestPostgres;
  let url: string;
  beforeAll(async () => {
    supabaseLike = await startTestPostgres();
    url = await createSupabaseDatabase(supabaseLike);
  });
  afterAll(async () => supabaseLike?.stop());

  const privileges = (role: string) =>
    supabaseLike.query<{ relname: string; allowed: boolean }>(
      `select c.relname,
              has_sequence_privilege('${role}', c.oid, 'USAGE')
              or has_sequence_privilege('${role}', c.oid, 'SELECT')
              or has_sequence_privilege('${role}', c.oid, 'UPDATE') as allowed
         from pg_class c
        where c.relnamespace = 'public'::regnamespace and c.relkind = 'S' order by 1`,
      url,
    );

  it('no sequence is usable by anon or authenticated, this one or one created later', async () => {
    for (const role of ['anon', 'authenticated']) {
      expect(await privileges(role), role).toEqual([
        { relname: 'memories_id_seq', allowed: false },
      ]);
    }
    expect(await privileges('service_role')).toEqual([
      { relname: 'memories_id_seq', allowed: true },
    ]);
    await supabaseLike.query(`create sequence public.created_later`, url);
    for (const role of ['anon', 'authenticated']) {
      expect(await privileges(role), role).toEqual([
        { relname: 'created_later', allowed: false },
        { relname: 'memories_id_seq', allowed: false },
      ]);
    }
  });

  it('the fence table and the new save_memories are closed to anon and authenticated', async () => {
    const rows = await supabaseLike.query<{ role: string; table: boolean; save: boolean }>(
      `select r as role,
              has_table_privilege(r, 'public.memory_forgets', 'SELECT, INSERT, UPDATE, DELETE') as table,
              has_function_privilege(r,
                'public.save_memories(text, text, jsonb, timestamptz)', 'EXECUTE') as save
         from unnest(array['anon', 'authenticated', 'service_role']) as r order by 1`,
      url,
    );
    expect(rows).toEqual([
      { role: 'anon', table: false, save: false },
      { role: 'authenticated', table: false, save: false },
      { role: 'service_role', table: true, save: true },
    ]);
  });

  it('the greeting functions the audio migration made are closed to anon and authenticated', async () => {
    const rows = await supabaseLike.query<{ role: string; get: boolean; put: boolean }>(
      `select r as role,
              has_function_privilege(r, 'public.get_greeting(text, text)', 'EXECUTE') as get,
              has_function_privilege(r,
                'public.put_greeting_audio(text, text, text, text, integer, text)', 'EXECUTE') as put
         from unnest(array['anon', 'authenticated', 'service_role']) as r order by 1`,
      url,
    );
    expect(rows).toEqual([
      { role: 'anon', get: false, put: false },
      { role: 'authenticated', get: false, put: false },
      { role: 'service_role', get: true, put: true },
    ]);
  });
});
