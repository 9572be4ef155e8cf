/** A real PostgreSQL for a test file: the product's own embedded server on a temporary directory. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { startEmbeddedPostgres } from '../../src/store/embedded-postgres.js';
import { applyMigrations } from '../../src/store/migrations.js';

export interface TestPostgres {
  /** The `postgres` database, migrated. */
  url: string;
  port: number;
  password: string;
  /** A fresh database on the same server, migrated unless told otherwise. */
  createDatabase(options?: { migrate?: boolean }): Promise<string>;
  /** Applies the project's migrations to a database. */
  migrate(url: string): Promise<void>;
  /** Runs SQL as the superuser on a database (default: the migrated one). */
  query<T extends object = Record<string, unknown>>(text: string, url?: string): Promise<T[]>;
  stop(): Promise<void>;
}

let databases = 0;

export async function startTestPostgres(): Promise<TestPostgres> {
  const dataDir = await mkdtemp(join(tmpdir(), 'test-postgres-'));
  const server = await startEmbeddedPostgres({ dataDir });
  const migrate = async (url: string) => {
    const sql = postgres(url, { max: 1, onnotice: () => undefined });
    try {
      await applyMigrations(sql);
    } finally {
      await sql.end();
    }
  };
  await migrate(server.url);

  const query = async <T extends object>(text: string, url = server.url): Promise<T[]> => {
    const sql = postgres(url, { max: 1, onnotice: () => undefined });
    try {
      return (await sql.unsafe(text)) as unknown as T[];
    } finally {
      await sql.end();
    }
  };

  return {
    url: server.url,
    port: server.port,
    password: server.password,
    migrate,
    async createDatabase({ migrate: shouldMigrate = true } = {}) {
      const name = `test_${process.pid}_${++databases}`;
      await query(`create database ${name}`);
      const url = server.url.replace(/\/postgres$/, `/${name}`);
      if (shouldMigrate) await migrate(url);
      return url;
    },
    query,
    async stop() {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
