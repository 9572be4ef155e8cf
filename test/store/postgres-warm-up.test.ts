/** Prewarm readies both connections a call's entry uses at once (memories and greeting). */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PostgresMemoryStore } from '../../src/store/postgres-store.js';
import { type TestPostgres, startTestPostgres } from '../support/postgres.js';

let pg: TestPostgres;
beforeAll(async () => {
  pg = await startTestPostgres();
});
afterAll(async () => {
  await pg?.stop();
});

it('warmUp opens two connections and leaves the store working', async () => {
  const url = await pg.createDatabase();
  const store = PostgresMemoryStore.open(url);
  try {
    await store.warmUp();
    const name = new URL(url).pathname.slice(1);
    const [row] = await pg.query<{ n: number }>(
      `select count(*)::int as n from pg_stat_activity
        where datname = '${name}' and application_name = 'livekit-memory-agent'`,
    );
    expect(row!.n).toBe(2);
    expect(await store.load('prewarm')).toEqual([]);
  } finally {
    await store.close();
  }
});
