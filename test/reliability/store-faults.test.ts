/**
 * Store faults in live text-mode calls, injected for real: a store that accepts connections and
 * never answers (at session start), a slow store (every deadline holds), PostgREST stopped in the
 * middle of a call and started again (Supabase store through the pool), and the Postgres server
 * itself stopped and started again. The call goes on; the outbox keeps what the store could not
 * take; it is stored once the store is back, and nothing is stored twice.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENERIC_GREETING } from '../../src/greeting/greeting-text.js';
import { createMemoryStore } from '../../src/store/create-store.js';
import { startEmbeddedPostgres } from '../../src/store/embedded-postgres.js';
import { applyMigrations } from '../../src/store/migrations.js';
import { PostgresMemoryStore } from '../../src/store/postgres-store.js';
import { testConfig } from '../support/config.js';
import { type MemoryFixture, eventually, startMemoryFixture } from '../support/memory-fixture.js';
import { type TestPostgres, startTestPostgres } from '../support/postgres.js';
import { POSTGREST_BINARY, type TestSupabase, startTestSupabase } from '../support/postgrest.js';
import { buildProcess, startSilentServer } from './support/process.js';
import { serialExtraction } from './support/serial-extraction.js';
import { StoreRows } from './support/stored-once.js';
import { assistantTexts, textCall, toolOutputs } from './support/text-call.js';

let fx: MemoryFixture;
let rows: StoreRows;
const dirs: string[] = [];
beforeAll(async () => {
  fx = await startMemoryFixture();
  fx.openai.onChat(serialExtraction().handler);
  rows = new StoreRows(fx.postgresUrl);
});
afterAll(async () => {
  await rows?.close();
  await fx?.stop();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** A data directory (outbox) of its own, so no other test's orphans are adopted here. */
async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'reliability-store-'));
  dirs.push(dir);
  return dir;
}

const LOAD_TIMEOUT_MS = 500;
const DRAIN_TIMEOUT_MS = 1_000;
/** Scheduling slack on a shared 2-core machine: deadlines are checked to this margin. */
const SLACK_MS = 1_000;

function env(dir: string, extra: Record<string, string> = {}) {
  return {
    OPENAI_BASE_URL: fx.openai.baseURL,
    MEMORY_DATA_DIR: dir,
    MEMORY_LOAD_TIMEOUT_MS: String(LOAD_TIMEOUT_MS),
    MEMORY_DRAIN_TIMEOUT_MS: String(DRAIN_TIMEOUT_MS),
    GREETING_BUDGET_MS: '150',
    ...extra,
  };
}

/** The next process on the real store: replays what the outbox holds. */
async function replayOn(url: string, dir: string) {
  const next = await buildProcess(testConfig(env(dir)), {
    store: () => PostgresMemoryStore.open(url),
  });
  try {
    const taken = await next.services.processor.replay();
    await next.services.processor.flush();
    expect(await next.services.outbox.depth()).toBe(0);
    return taken;
  } finally {
    await next.close();
  }
}

describe('store faults', () => {
  it('a store that never answers at session start: the call starts on time, without memories, and loses nothing', async () => {
    const silent = await startSilentServer();
    const dir = await dataDir();
    const user = fx.user('tova');
    const p = await buildProcess(testConfig(env(dir, { MEMORY_BATCH_DELAY_MS: '60000' })), {
      store: () =>
        PostgresMemoryStore.open(`postgres://agent:pw@127.0.0.1:${silent.port}/memories`),
    });
    try {
      const call = await textCall(p, user);
      console.info(
        `[reliability] store silent at session start: openCall ${Math.round(call.openMs)} ms`,
      );
      expect(call.openMs).toBeLessThan(LOAD_TIMEOUT_MS + SLACK_MS);
      expect(call.caller.memoriesLoaded).toBe(false);
      expect(call.caller.memories).toEqual([]);
      expect(call.caller.greeting).toMatchObject({ text: GENERIC_GREETING, source: 'deadline' });
      expect(call.caller.agent.instructions).toContain('memory of this caller is unavailable');

      // The call goes on.
      expect(assistantTexts(await call.say('My name is Tova.'))).toEqual([
        'You said: My name is Tova.',
      ]);
      const report = await call.hangUp();
      console.info(`[reliability] store silent at hang-up: call end ${report.elapsedMs} ms`);
      // Drain, then the next greeting's load: each under its own deadline.
      expect(report.elapsedMs).toBeLessThan(DRAIN_TIMEOUT_MS + 3 * LOAD_TIMEOUT_MS + SLACK_MS);
      expect(report.drain?.drained).toBe(false);
      expect(report.drain?.left).toBeGreaterThan(0);
    } finally {
      await p.close();
      await silent.close();
    }
    expect(await replayOn(fx.postgresUrl, dir)).toBeGreaterThan(0);
    await rows.expectStoredOnce(user, ['name']);
  }, 30_000);

  it('a slow store: session start, tools and the drain all keep their deadlines; the rest is replayed once', async () => {
    const dir = await dataDir();
    const user = fx.user('sami');
    const p = await buildProcess(testConfig(env(dir, { MEMORY_BATCH_DELAY_MS: '60000' })), {
      store: () => PostgresMemoryStore.open(fx.postgresUrl),
    });
    p.store.delayMs = 4_000;
    try {
      const call = await textCall(p, user);
      expect(call.openMs).toBeLessThan(LOAD_TIMEOUT_MS + SLACK_MS);
      expect(call.caller.memoriesLoaded).toBe(false);
      await call.say("I'm working on a sailing dinghy.");

      // "Remember that …" must not hold the conversation for as long as the store takes.
      let started = performance.now();
      const remember = await call.say('Remember that my favorite color is teal.');
      const rememberMs = performance.now() - started;
      const [saved] = toolOutputs(remember);
      console.info(
        `[reliability] slow store: remember answered in ${Math.round(rememberMs)} ms: ${saved?.text}`,
      );
      expect(saved).toMatchObject({ isError: false });
      expect(saved?.text).toMatch(
        /^I am still saving that: my memory is slow to answer right now\./,
      );
      expect(rememberMs).toBeLessThan(2 * LOAD_TIMEOUT_MS + SLACK_MS);

      started = performance.now();
      const recall = await call.say('What do you know about me?');
      const recallMs = performance.now() - started;
      expect(toolOutputs(recall)[0]).toMatchObject({ isError: true });
      expect(recallMs).toBeLessThan(2 * LOAD_TIMEOUT_MS + SLACK_MS);

      const report = await call.hangUp();
      expect(report.elapsedMs).toBeLessThan(DRAIN_TIMEOUT_MS + 3 * LOAD_TIMEOUT_MS + SLACK_MS);
      expect(report.drain?.drained).toBe(false);
    } finally {
      await p.close();
    }
    await replayOn(fx.postgresUrl, dir);
    await rows.expectStoredOnce(user, ['current_project', 'favorite_color']);
  }, 30_000);
});

describe.skipIf(!POSTGREST_BINARY)('PostgREST stopped in the middle of a call', () => {
  let server: TestPostgres;
  let supabase: TestSupabase;
  let supabaseRows: StoreRows;
  beforeAll(async () => {
    server = await startTestPostgres();
    supabase = await startTestSupabase(server);
    supabaseRows = new StoreRows(supabase.databaseUrl);
  });
  afterAll(async () => {
    await supabaseRows?.close();
    await supabase?.stop();
    await server?.stop();
  });

  it('keeps the batch in the outbox while PostgREST is down and stores it once when it is back', async () => {
    const dir = await dataDir();
    const config = testConfig(
      env(dir, {
        SUPABASE_URL: supabase.url,
        SUPABASE_SERVICE_ROLE_KEY: supabase.serviceRoleKey,
      }),
    );
    // The store the worker picks for this configuration: Supabase, on the pool's client.
    const p = await buildProcess(config, {
      store: (pool) => createMemoryStore(config, { supabase: pool.supabase }),
    });
    expect(p.store.kind).toBe('supabase');
    const user = fx.user('pia');
    const call = await textCall(p, user);
    try {
      expect(call.caller.memoriesLoaded).toBe(true);
      await call.say('My name is Pia.');
      await eventually(async () => expect((await supabaseRows.of(user)).current).toHaveLength(1));

      await supabase.stopPostgrest();
      const failedBefore = p.services.processor.stats().failed;
      expect(assistantTexts(await call.say('I like rowing.'))).toEqual([
        'You said: I like rowing.',
      ]);
      await call.say("I'm working on a kayak.");
      const remember = await call.say('Remember that my favorite color is teal.');
      expect(toolOutputs(remember)[0]?.text).toMatch(
        /^Noted: Favorite color is teal\. My memory is out of reach right now/,
      );
      await eventually(() =>
        expect(p.services.processor.stats().failed).toBeGreaterThan(failedBefore),
      );
      expect(await p.services.outbox.depth()).toBeGreaterThan(0);
      expect((await supabaseRows.of(user)).current).toHaveLength(1);

      await supabase.startPostgrest();
      // The processor's own retry stores what the outbox kept, without being asked.
      await eventually(async () => expect(await p.services.outbox.depth()).toBe(0), 15_000);
      const report = await call.hangUp();
      expect(report.drain).toMatchObject({ drained: true, left: 0 });
    } finally {
      await call.hangUp().catch(() => undefined);
      await p.close();
    }
    await supabaseRows.expectStoredOnce(user, [
      'name',
      'favorite_rowing',
      'current_project',
      'favorite_color',
    ]);
  }, 40_000);
});

describe('Postgres stopped in the middle of a call', () => {
  it('keeps the batch in the outbox while Postgres is down and stores it once when it is back', async () => {
    const pgDir = await dataDir();
    let pg = await startEmbeddedPostgres({ dataDir: pgDir });
    const migrator = postgres(pg.url, { max: 1, onnotice: () => undefined });
    await applyMigrations(migrator);
    await migrator.end();
    const pgRows = new StoreRows(pg.url);
    const dir = await dataDir();
    const config = testConfig(env(dir, { DATABASE_URL: pg.url, MEMORY_BATCH_DELAY_MS: '30' }));
    const p = await buildProcess(config, {
      store: (pool) => createMemoryStore(config, { supabase: pool.supabase }),
    });
    expect(p.store.kind).toBe('postgres');
    const user = fx.user('ilse');
    const call = await textCall(p, user);
    try {
      await call.say('My name is Ilse.');
      await eventually(async () => expect((await pgRows.of(user)).current).toHaveLength(1));

      await pg.stop();
      const failedBefore = p.services.processor.stats().failed;
      expect(assistantTexts(await call.say('I love cello music.'))).toEqual([
        'You said: I love cello music.',
      ]);
      await eventually(() =>
        expect(p.services.processor.stats().failed).toBeGreaterThan(failedBefore),
      );
      expect(await p.services.outbox.depth()).toBeGreaterThan(0);

      pg = await startEmbeddedPostgres({ dataDir: pgDir, port: pg.port });
      await eventually(async () => expect(await p.services.outbox.depth()).toBe(0), 15_000);
      const report = await call.hangUp();
      expect(report.drain).toMatchObject({ drained: true, left: 0 });
      await pgRows.expectStoredOnce(user, ['name', 'favorite_cello_music']);
    } finally {
      await call.hangUp().catch(() => undefined);
      await p.close();
      await pgRows.close();
      await pg.stop();
    }
  }, 40_000);
});
