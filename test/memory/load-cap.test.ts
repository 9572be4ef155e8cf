/**
 * A call loads everything it may retrieve from in one round trip, up to MEMORY_LOAD_CAP: both
 * stores on real servers (the Postgres store on the embedded Postgres; the Supabase store through
 * supabase-js and a real PostgREST that, like Supabase, cuts a set of rows at 1,000).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionPool } from '../../src/pool/connection-pool.js';
import type { MemoryAndGreetingStore, MemoryInput } from '../../src/store/memory-store.js';
import { PostgresMemoryStore } from '../../src/store/postgres-store.js';
import { SupabaseMemoryStore } from '../../src/store/supabase-store.js';
import { testConfig } from '../support/config.js';
import { type TestPostgres, startTestPostgres } from '../support/postgres.js';
import { POSTGREST_BINARY, type TestSupabase, startTestSupabase } from '../support/postgrest.js';

const FACTS = 1_500;
let postgres: TestPostgres;
let supabase: TestSupabase | undefined;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  postgres = await startTestPostgres();
  if (POSTGREST_BINARY) supabase = await startTestSupabase(postgres);
});
afterAll(async () => {
  for (const close of closers) await close();
  await supabase?.stop();
  await postgres?.stop();
});

const fact = (i: number): MemoryInput => ({
  category: 'fact',
  key: `fact_${i}`,
  value: `Fact number ${i}`,
  confidence: 0.8,
  source: 'extraction',
});

/** `requests`: HTTP requests made so far (Supabase; the Postgres store's query is one round trip). */
type Opened = { store: MemoryAndGreetingStore; requests?: () => number };
const stores: [string, () => Promise<Opened>, boolean][] = [
  [
    'postgres',
    async () => {
      const store = await PostgresMemoryStore.connect(postgres.url);
      closers.push(() => store.close());
      return { store };
    },
    false,
  ],
  [
    'supabase (PostgREST, max rows 1,000)',
    async () => {
      const pool = await ConnectionPool.create(
        testConfig({
          SUPABASE_URL: supabase!.url,
          SUPABASE_SERVICE_ROLE_KEY: supabase!.serviceRoleKey,
        }),
      );
      closers.push(() => pool.close());
      return {
        store: new SupabaseMemoryStore(pool.supabase!),
        requests: () => pool.stats().services.supabase.requests,
      };
    },
    !POSTGREST_BINARY,
  ],
];

describe.each(stores)('%s store', (_name, open, skip) => {
  it.skipIf(skip)(
    `loads all ${FACTS} facts in one request, the name first, then the newest`,
    async () => {
      const { store, requests } = await open();
      const user = `cap-${randomUUID()}`;
      const all = Array.from({ length: FACTS }, (_, i) => fact(i));
      await store.save(user, all.slice(0, 1_000), randomUUID(), new Date());
      await store.save(user, all.slice(1_000), randomUUID(), new Date());
      const name: MemoryInput = {
        ...fact(0),
        category: 'identity',
        key: 'name',
        value: 'Name is Ada',
      };
      await store.save(user, [name], randomUUID(), new Date());

      const before = requests?.();
      const loaded = await store.load(user, 5_000);
      if (requests) expect(requests() - before!).toBe(1);
      expect(loaded).toHaveLength(FACTS + 1);
      expect(loaded[0]!.value).toBe('Name is Ada');
      expect(loaded[1]!.key).toBe(`fact_${FACTS - 1}`);
      expect(loaded.at(-1)!.key).toBe('fact_0');
      // The limit still holds: the name first.
      expect((await store.load(user, 3)).map((m) => m.key)).toEqual([
        'name',
        `fact_${FACTS - 1}`,
        `fact_${FACTS - 2}`,
      ]);
    },
  );
});
