/**
 * Applies `supabase/migrations/*.sql` in name order, each once, tracked with its checksum.
 * Several workers may start at once: an advisory lock makes one of them apply and the others
 * wait, then find nothing left to do.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Sql } from 'postgres';

/** The project's migrations folder, from `src/store/` and from `dist/store/` alike. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../supabase/migrations/', import.meta.url));

const LOCK_KEY = 0x6d656d6f; // "memo"

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

/**
 * @param dir the migrations folder
 * @returns every `.sql` file in it, in name order, with its checksum
 */
export async function readMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.sql')).sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(`${dir}/${name}`, 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

export class MigrationChecksumError extends Error {
  constructor(readonly migration: string) {
    super(
      `migration ${migration} was changed after it was applied; add a new migration instead of editing it`,
    );
    this.name = 'MigrationChecksumError';
  }
}

/**
 * Applies the pending migrations in name order, each once, under an advisory lock (workers
 * starting together wait for one another).
 * @param sql a connection to the database
 * @param dir the migrations folder
 * @returns the names applied now (empty when none was pending)
 * @throws {@link MigrationChecksumError} when an applied migration's file has changed since
 */
export async function applyMigrations(sql: Sql, dir = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = await readMigrations(dir);
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${LOCK_KEY})`;
    await tx`create schema if not exists memory_agent`;
    await tx`
      create table if not exists memory_agent.migrations (
        name text primary key,
        checksum text not null,
        applied_at timestamptz not null default now()
      )`;
    const rows = await tx<{ name: string; checksum: string }[]>`
      select name, checksum from memory_agent.migrations`;
    const applied = new Map(rows.map((row) => [row.name, row.checksum]));
    const done: string[] = [];
    for (const migration of migrations) {
      const checksum = applied.get(migration.name);
      if (checksum === migration.checksum) continue;
      if (checksum !== undefined) throw new MigrationChecksumError(migration.name);
      await tx.unsafe(migration.sql);
      await tx`
        insert into memory_agent.migrations (name, checksum)
        values (${migration.name}, ${migration.checksum})`;
      done.push(migration.name);
    }
    return done;
  });
}
