/**
 * The greeting audio migration on a database holding the previous schema and its rows: the rows
 * stay as they were, a worker already connected keeps reading, PostgREST is told to reload, and
 * audio can then be stored.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { applyMigrations, readMigrations } from '../../src/store/migrations.js';
import { PostgresMemoryStore } from '../../src/store/postgres-store.js';
import { type TestPostgres, startTestPostgres } from '../support/postgres.js';

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

describe('the greeting audio migration on a database holding the previous schema', () => {
  it('keeps every greeting as it was, for running workers too, and tells PostgREST', async () => {
    const url = await server.createDatabase({ migrate: false });
    const dir = await mkdtemp(join(tmpdir(), 'migrations-'));
    const all = await readMigrations();
    const before = all.filter((m) => m.name < '20261201000200');
    try {
      for (const m of before) await writeFile(join(dir, m.name), m.sql);
      await withSql(url, (sql) => applyMigrations(sql, dir));
      await server.query(
        `select public.put_greeting('agent', 'maya', 'Welcome back, Maya!', 3600);
         select public.put_greeting('agent', 'ravi', 'Welcome back, Ravi!', 3600);
         select public.invalidate_greetings(null, 'ravi', true);`,
        url,
      );
      const rows = () =>
        server.query<{ user_id: string; text: string; expires_at: Date; stale: boolean }>(
          'select user_id, text, expires_at, stale from public.greetings order by user_id',
          url,
        );
      const old = await rows();
      // A worker already running: its connection prepared get_greeting's old result shape.
      const running = await PostgresMemoryStore.connect(url);
      expect(await running.getGreeting('agent', 'maya')).toMatchObject({ stale: false });

      // A PostgREST serving the database hears that its schema changed.
      const heard: string[] = [];
      const listener = postgres(url, { max: 1, onnotice: () => undefined });
      await listener.listen('pgrst', (payload) => heard.push(payload));

      expect(await withSql(url, (sql) => applyMigrations(sql))).toEqual(
        all.slice(before.length).map((m) => m.name),
      );
      expect(await rows()).toEqual(old);
      try {
        await vi.waitFor(() => expect(heard).toEqual(['reload schema']));
        expect(await running.getGreeting('agent', 'maya')).toMatchObject({
          text: 'Welcome back, Maya!',
        });
      } finally {
        await running.close();
        await listener.end();
      }
      const store = await PostgresMemoryStore.connect(url);
      try {
        const maya = await store.getGreeting('agent', 'maya');
        expect(maya).toMatchObject({ text: 'Welcome back, Maya!', stale: false });
        expect(maya).not.toHaveProperty('audio');
        expect(await store.getGreeting('agent', 'ravi')).toMatchObject({ stale: true });
        const audio = { key: 'k', sampleRate: 24_000, pcm: new Uint8Array([1, 2, 3, 4]) };
        expect(await store.putGreetingAudio('agent', 'maya', 'Welcome back, Maya!', audio)).toBe(
          true,
        );
        expect((await store.getGreeting('agent', 'maya'))!.audio).toEqual(audio);
      } finally {
        await store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
