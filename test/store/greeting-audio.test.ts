/**
 * Prepared greeting audio in the store, both stores on real servers (as the store contract runs
 * them): the Postgres store on the embedded Postgres, the Supabase store through supabase-js →
 * real PostgREST. The audio lives and dies with its greeting's text.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionPool } from '../../src/pool/connection-pool.js';
import { type GreetingAudio, MAX_GREETING_AUDIO_BYTES } from '../../src/store/greeting-store.js';
import { type MemoryAndGreetingStore, MemoryStoreError } from '../../src/store/memory-store.js';
import { PostgresMemoryStore } from '../../src/store/postgres-store.js';
import { SupabaseMemoryStore } from '../../src/store/supabase-store.js';
import { testConfig } from '../support/config.js';
import { type TestPostgres, startTestPostgres } from '../support/postgres.js';
import { POSTGREST_BINARY, type TestSupabase, startTestSupabase } from '../support/postgrest.js';

let postgres: TestPostgres;
let supabase: TestSupabase | undefined;
const pools: ConnectionPool[] = [];

beforeAll(async () => {
  postgres = await startTestPostgres();
  if (POSTGREST_BINARY) supabase = await startTestSupabase(postgres);
});

afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.close()));
  await supabase?.stop();
  await postgres?.stop();
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
      const pool = await ConnectionPool.create(
        testConfig({
          SUPABASE_URL: supabase!.url,
          SUPABASE_SERVICE_ROLE_KEY: supabase!.serviceRoleKey,
        }),
        { warmUp: false },
      );
      pools.push(pool);
      return {
        store: new SupabaseMemoryStore(pool.supabase!),
        databaseUrl: supabase!.databaseUrl,
        requests: () => pool.stats().services.supabase.requests,
      };
    },
    !POSTGREST_BINARY,
  ],
];

/** 4 s at 24 kHz, every byte value present (random), as a TTS answer's size. */
const speech = (key = 'tts-1|alloy|24000|1|pcm16|abc123', bytes = 192_000): GreetingAudio => ({
  key,
  sampleRate: 24_000,
  pcm: new Uint8Array(randomBytes(bytes)),
});

describe.each(stores)('%s store: greeting audio', (_name, open, skip) => {
  let subject: StoreUnderTest;
  let store: MemoryAndGreetingStore;
  const user = () => `user-${randomUUID()}`;
  const audioColumns = (userId: string) =>
    postgres.query<{ bytes: number | null }>(
      `select octet_length(audio) as bytes from public.greetings where user_id = '${userId}'`,
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
    'round trip: the audio comes back byte for byte with its key and rate',
    async () => {
      const id = user();
      const audio = speech();
      await store.putGreeting('agent', id, 'Welcome back, Maya!', 3600);
      expect(await store.getGreeting('agent', id)).not.toHaveProperty('audio');

      expect(await store.putGreetingAudio('agent', id, 'Welcome back, Maya!', audio)).toBe(true);
      const got = await store.getGreeting('agent', id);
      expect(got).toMatchObject({ text: 'Welcome back, Maya!', stale: false });
      expect(got!.audio!.key).toBe(audio.key);
      expect(got!.audio!.sampleRate).toBe(24_000);
      expect(Buffer.from(got!.audio!.pcm).equals(Buffer.from(audio.pcm))).toBe(true);
      // Viewable as samples at once: its own buffer, at offset 0.
      expect(got!.audio!.pcm.byteOffset).toBe(0);
      expect(new Int16Array(got!.audio!.pcm.buffer)).toHaveLength(96_000);
    },
  );

  it.skipIf(skip)('the smallest and the largest audio allowed both round-trip', async () => {
    for (const bytes of [2, MAX_GREETING_AUDIO_BYTES]) {
      const id = user();
      const audio = speech('k', bytes);
      await store.putGreeting('agent', id, 'Hello again.', 3600);
      expect(await store.putGreetingAudio('agent', id, 'Hello again.', audio)).toBe(true);
      const pcm = (await store.getGreeting('agent', id))!.audio!.pcm;
      expect(Buffer.from(pcm).equals(Buffer.from(audio.pcm)), `${bytes} bytes`).toBe(true);
      expect(pcm.byteOffset).toBe(0);
    }
  });

  it.skipIf(skip)('a put and a get with audio are one request each', async () => {
    if (!subject.requests) return; // the Postgres store's single statements are plain in the code
    const id = user();
    await store.putGreeting('agent', id, 'Hi, Ravi.', 3600);
    const before = subject.requests();
    await store.putGreetingAudio('agent', id, 'Hi, Ravi.', speech());
    await store.getGreeting('agent', id);
    expect(subject.requests() - before).toBe(2);
  });

  it.skipIf(skip)(
    'audio for a text the row no longer holds is refused: a newer greeting wins',
    async () => {
      const id = user();
      await store.putGreeting('agent', id, 'Welcome back, Maya!', 3600);
      await store.putGreeting('agent', id, 'Welcome back, Maya! How was Porto?', 3600);
      expect(await store.putGreetingAudio('agent', id, 'Welcome back, Maya!', speech())).toBe(
        false,
      );
      expect(await store.getGreeting('agent', id)).not.toHaveProperty('audio');
      expect(await audioColumns(id)).toEqual([{ bytes: null }]);
      // No row at all (another agent, or nobody): refused too, nothing created.
      expect(await store.putGreetingAudio('other-agent', id, 'Welcome back, Maya!', speech())).toBe(
        false,
      );
      expect(await store.getGreeting('other-agent', id)).toBeUndefined();
    },
  );

  it.skipIf(skip)('a new text clears the audio; the same text written again keeps it', async () => {
    const id = user();
    const audio = speech();
    await store.putGreeting('agent', id, 'Welcome back, Maya!', 3600);
    await store.putGreetingAudio('agent', id, 'Welcome back, Maya!', audio);

    await store.putGreeting('agent', id, 'Welcome back, Maya!', 7200); // a refresh, same words
    const refreshed = await store.getGreeting('agent', id);
    expect(Buffer.from(refreshed!.audio!.pcm).equals(Buffer.from(audio.pcm))).toBe(true);

    await store.putGreeting('agent', id, 'Good to hear you, Maya.', 3600);
    expect(await store.getGreeting('agent', id)).not.toHaveProperty('audio');
    expect(await audioColumns(id)).toEqual([{ bytes: null }]);
  });

  it.skipIf(skip)(
    'a stale mark keeps the audio (new facts or an operator); a delete or a forget takes it',
    async () => {
      const [a, b, c] = [user(), user(), user()];
      const audio = speech();
      for (const id of [a, b, c]) {
        await store.putGreeting('agent', id, 'Welcome back!', 3600);
        expect(await store.putGreetingAudio('agent', id, 'Welcome back!', audio)).toBe(true);
      }

      await store.save(
        a,
        [
          {
            category: 'fact',
            key: 'trip',
            value: 'Back from Porto',
            confidence: 1,
            source: 'explicit',
          },
        ],
        randomUUID(),
        new Date(),
      );
      expect(await store.invalidateGreetings({ userId: b, markStale: true })).toBe(1);
      for (const id of [a, b]) {
        const stale = await store.getGreeting('agent', id);
        expect(stale).toMatchObject({ stale: true });
        expect(Buffer.from(stale!.audio!.pcm).equals(Buffer.from(audio.pcm))).toBe(true);
      }

      expect(await store.invalidateGreetings({ userId: b })).toBe(1);
      expect(await store.forget(c)).toBe(0);
      for (const id of [b, c]) {
        expect(await store.getGreeting('agent', id)).toBeUndefined();
        expect(await audioColumns(id)).toEqual([]);
        expect(await store.putGreetingAudio('agent', id, 'Welcome back!', audio)).toBe(false);
      }
    },
  );

  it.skipIf(skip)(
    'each audio write drops the audio of at most 10 expired greetings, keeping their rows',
    async () => {
      const expired = Array.from({ length: 12 }, user);
      const audio = speech('k', 1_000);
      for (const id of expired) {
        await store.putGreeting('agent', id, 'Welcome back!', 3600);
        await store.putGreetingAudio('agent', id, 'Welcome back!', audio);
      }
      await postgres.query(
        `update public.greetings set expires_at = now() - interval '1 minute'
          where user_id in (${expired.map((id) => `'${id}'`).join(', ')})`,
        subject.databaseUrl,
      );
      const withAudio = async () =>
        (
          await postgres.query<{ n: number }>(
            `select count(*)::int as n from public.greetings
              where audio is not null and user_id in (${expired.map((id) => `'${id}'`).join(', ')})`,
            subject.databaseUrl,
          )
        )[0]!.n;

      const live = user();
      await store.putGreeting('agent', live, 'Hi!', 3600);
      expect(await store.putGreetingAudio('agent', live, 'Hi!', audio)).toBe(true);
      expect(await withAudio()).toBe(2);
      expect(await store.putGreetingAudio('agent', live, 'Hi!', audio)).toBe(true);
      expect(await withAudio()).toBe(0);
      expect((await store.getGreeting('agent', live))!.audio).toBeDefined();
      const [first] = expired;
      expect(await store.getGreeting('agent', first!)).toMatchObject({ text: 'Welcome back!' });
      // A write to an expired row is not undone by its own clean-up.
      expect(await store.putGreetingAudio('agent', first!, 'Welcome back!', audio)).toBe(true);
      expect((await store.getGreeting('agent', first!))!.audio).toBeDefined();
    },
  );

  it.skipIf(skip)(
    'oversize or malformed audio is refused before it is sent (22023), nothing written',
    async () => {
      const id = user();
      await store.putGreeting('agent', id, 'Welcome back!', 3600);
      const kept = speech();
      await store.putGreetingAudio('agent', id, 'Welcome back!', kept);
      const before = subject.requests?.();

      const refusals: Array<[GreetingAudio, RegExp]> = [
        [
          speech('k', MAX_GREETING_AUDIO_BYTES + 2),
          /524290 bytes of audio, over the 524288-byte cap/,
        ],
        [speech('k', 191_999), /191999 bytes is not 16-bit PCM/],
        [speech('k', 0), /0 bytes is not 16-bit PCM/],
        [speech(''), /a key of 1 to 512 characters/],
        [speech('k'.repeat(513)), /a key of 1 to 512 characters/],
        [{ ...speech(), sampleRate: 96_000 }, /sample rate must be a whole 8000 to 48000/],
        [{ ...speech(), sampleRate: 22_050.5 }, /sample rate must be a whole 8000 to 48000/],
      ];
      for (const [audio, message] of refusals) {
        const error = await store
          .putGreetingAudio('agent', id, 'Welcome back!', audio)
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(MemoryStoreError);
        expect(error).toMatchObject({ code: '22023' });
        expect((error as Error).message).toMatch(/^put_greeting_audio failed: /);
        expect((error as Error).message).toMatch(message);
      }
      if (before !== undefined) expect(subject.requests!()).toBe(before);
      const after = await store.getGreeting('agent', id);
      expect(Buffer.from(after!.audio!.pcm).equals(Buffer.from(kept.pcm))).toBe(true);
    },
  );
});
