import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyMigrations,
  MIGRATIONS_DIR,
  MigrationChecksumError,
  readMigrations,
} from '../../src/memory/migrations.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';

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
    ]);
  });
});
