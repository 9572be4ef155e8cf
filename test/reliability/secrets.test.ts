/**
 * Secrets never leave: with every credential configured (the OpenAI key, the LiveKit key and
 * secret, a real Supabase service-role key, a Postgres password, a password in a URL), calls run
 * through faults (OpenAI errors, PostgREST stopped, a wrong database password), tools are used
 * and abused, and everything the suite can capture is scanned: every log line the framework and
 * the product write (debug level), pool and memory stats, spoken answers, tool outputs, error
 * messages, the outbox and dead-letter files on disk.
 */
import { initializeLogger, log } from '@livekit/agents';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { createMemoryStore } from '../../src/store/create-store.js';
import { MemoryStoreError } from '../../src/store/memory-store.js';
import { PostgresMemoryStore } from '../../src/store/postgres-store.js';
import { TEST_SECRETS, testConfig } from '../support/config.js';
import { closedPort } from '../support/livekit-server.js';
import { type MemoryFixture, startMemoryFixture } from '../support/memory-fixture.js';
import { type TestPostgres, startTestPostgres } from '../support/postgres.js';
import { POSTGREST_BINARY, type TestSupabase, startTestSupabase } from '../support/postgrest.js';
import { buildProcess } from './support/process.js';
import { assistantTexts, textCall, toolOutputs } from './support/text-call.js';

let fx: MemoryFixture;
let server: TestPostgres;
let supabase: TestSupabase;
/** Everything captured: log lines, answers, stats, errors, files. */
const captured: string[] = [];
const secrets: string[] = [...Object.values(TEST_SECRETS)];
const PROXY_SECRET = 'proxy-password-in-url-0000secret';
const WRONG_DB_SECRET = 'wrong-db-password-0000secret';
let restoreOutput: () => void = () => undefined;

beforeAll(async () => {
  // Everything the framework and the product log, at debug level, goes into `captured`.
  initializeLogger({ pretty: false, level: 'debug' });
  const stdout = process.stdout.write.bind(process.stdout);
  const stderr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = String(chunk);
    captured.push(text);
    if (text.startsWith('{"level"')) return true; // captured, not shown
    return (stdout as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    captured.push(String(chunk));
    return (stderr as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
  restoreOutput = () => {
    process.stdout.write = stdout;
    process.stderr.write = stderr;
  };

  fx = await startMemoryFixture();
  secrets.push(decodeURIComponent(new URL(fx.postgresUrl).password), PROXY_SECRET, WRONG_DB_SECRET);
  if (POSTGREST_BINARY) {
    server = await startTestPostgres();
    supabase = await startTestSupabase(server);
    secrets.push(supabase.serviceRoleKey, server.password);
  }
});
afterAll(async () => {
  restoreOutput();
  initializeLogger({ pretty: false, level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  await supabase?.stop();
  await server?.stop();
  await fx?.stop();
});

const leaks = (text: string) => secrets.filter((s) => text.includes(s));
const credentials = {
  OPENAI_API_KEY: TEST_SECRETS.openai,
  LIVEKIT_URL: 'wss://livekit.example',
  LIVEKIT_API_KEY: TEST_SECRETS.livekitKey,
  LIVEKIT_API_SECRET: TEST_SECRETS.livekitSecret,
};

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else out.push(await readFile(path, 'utf8'));
  }
  return out;
}

describe.skipIf(!POSTGREST_BINARY)('secrets', () => {
  it('a call through faults, with every credential set: no secret in logs, stats, answers or errors', async () => {
    const config = testConfig({
      ...credentials,
      OPENAI_BASE_URL: fx.openai.baseURL,
      SUPABASE_URL: supabase.url,
      SUPABASE_SERVICE_ROLE_KEY: supabase.serviceRoleKey,
      MEMORY_DATA_DIR: fx.dataDir,
      MEMORY_EXTRACTION_TIMEOUT_MS: '1000',
      LOG_LEVEL: 'debug',
    });
    const logger = log().child({ component: 'secrets-test' });
    const p = await buildProcess(config, {
      store: (pool) => createMemoryStore(config, pool.supabase ? { supabase: pool.supabase } : {}),
      logger,
    });
    const cleanup = vi.spyOn(p.pool, 'cleanup');
    const call = await textCall(p, fx.user('sol'), { logger });
    const said: string[] = [];
    const hear = async (text: string) => {
      const result = await call.say(text);
      said.push(...assistantTexts(result), ...toolOutputs(result).map((o) => o.text));
      return result;
    };
    try {
      await hear('My name is Sol.');
      // OpenAI faults on the voice path and on extraction: every error is logged somewhere.
      fx.openai.injectFault(
        {
          kind: 'status',
          status: 401,
          message: `Incorrect API key provided: sk-test-****cret. You can find your API key at https://platform.openai.com/account/api-keys.`,
        },
        { path: '/chat/completions' },
      );
      await hear('I like quiet mornings.');
      fx.openai.injectFault({ kind: 'status', status: 500 }, { path: '/chat/completions' });
      await hear('I like loud evenings.');
      fx.openai.injectFault({ kind: 'reset' }, { path: '/chat/completions' });
      await hear("I'm working on a telescope.");
      fx.openai.injectFault({ kind: 'hang' }, { path: '/chat/completions' });
      await hear('Are you still there?');
      await hear('Remember that my favorite color is amber.');
      await hear('What do you know about me?');

      // The store goes away: store errors, health checks, tools that cannot reach it.
      await supabase.stopPostgrest();
      await hear('I love sailing.');
      await hear('What do you know about me?');
      await hear('Remember that my favorite tree is oak.');
      await p.pool.checkHealth();
      await p.services.processor.flush();
      captured.push(JSON.stringify(p.pool.stats()), JSON.stringify(p.services.processor.stats()));
      const storeDown = p.store.load('anyone');
      await expect(storeDown).rejects.toBeInstanceOf(MemoryStoreError);
      const storeError = (await storeDown.catch((error: unknown) => error)) as MemoryStoreError;
      captured.push(String(storeError), storeError.stack ?? '');
      await supabase.startPostgrest();

      // The operator's tools: stats, and cleanup asked for again and again.
      const stats = toolOutputs(await hear('How is the connection pool doing?'))[0];
      expect(stats?.text).toMatch(/connections? (is|are) open/);
      expect(stats?.text).not.toMatch(/https?:|127\.0\.0\.1|Bearer|key|token|password/i);
      const answers: string[] = [];
      for (let i = 0; i < 5; i++) {
        answers.push(toolOutputs(await hear('Please clean up the connection pool.'))[0]!.text);
      }
      expect(cleanup).toHaveBeenCalledTimes(1);
      expect(answers[0]).toMatch(/^I closed \d+ idle connections?/);
      for (const answer of answers.slice(1)) expect(answer).toMatch(/moments ago/);

      const report = await call.hangUp();
      captured.push(JSON.stringify(report));
    } finally {
      fx.openai.clearFaults();
      await call.hangUp().catch(() => undefined);
      captured.push(JSON.stringify(p.pool.stats()), JSON.stringify(p.services.processor.stats()));
      await p.close();
    }
    captured.push(...said, ...(await filesUnder(join(fx.dataDir, 'outbox'))));

    const everything = captured.join('\n');
    // The scan had something to scan: the faults were logged, at debug level, by both.
    expect(everything).toMatch(/"msg":"model error; retrying"/);
    expect(everything).toMatch(/memory store unavailable/);
    expect(everything).toMatch(/failed to generate LLM completion/);
    expect(leaks(everything)).toEqual([]);
  }, 60_000);

  it('credential-bearing URLs and wrong credentials: named, never echoed', async () => {
    const port = await closedPort();
    const texts: string[] = [];

    // A database URL with a wrong password: the store fails, the password stays out of it.
    const url = new URL(fx.postgresUrl);
    url.password = WRONG_DB_SECRET;
    const config = testConfig({
      ...credentials,
      OPENAI_BASE_URL: fx.openai.baseURL,
      DATABASE_URL: url.toString(),
      MEMORY_DATA_DIR: fx.dataDir,
    });
    const logger = log().child({ component: 'secrets-test' });
    const p = await buildProcess(config, {
      store: () => PostgresMemoryStore.open(config.databaseUrl!, { connectTimeoutSeconds: 2 }),
      logger,
    });
    try {
      const call = await textCall(p, fx.user('wren'), { logger });
      expect(call.caller.memoriesLoaded).toBe(false);
      texts.push(...toolOutputs(await call.say('What do you know about me?')).map((o) => o.text));
      await call.say('My name is Wren.');
      await p.pool.checkHealth();
      await p.services.processor.flush();
      texts.push(JSON.stringify(p.pool.stats()));
      await call.hangUp();
    } finally {
      await p.close();
    }

    // An OpenAI endpoint behind a proxy with its password in the URL.
    const proxied = testConfig({
      ...credentials,
      OPENAI_BASE_URL: `http://proxy-user:${PROXY_SECRET}@127.0.0.1:${port}/v1`,
      DATABASE_URL: fx.postgresUrl,
      MEMORY_DATA_DIR: fx.dataDir,
    });
    const q = await buildProcess(proxied, {
      store: () => PostgresMemoryStore.open(fx.postgresUrl),
      logger,
    });
    try {
      const call = await textCall(q, fx.user('pip'), { logger });
      texts.push(...assistantTexts(await call.say('Hello?')));
      await call.hangUp();
      await q.pool.checkHealth();
      await q.services.extractor
        .extract([{ id: 't', userId: 'u', userText: 'My name is Pip.', assistantText: '', at: '' }])
        .catch((error: unknown) => texts.push(String(error)));
      texts.push(JSON.stringify(q.pool.stats()));
    } finally {
      await q.close();
    }

    // Configuration errors about values that carry credentials.
    let configError: unknown;
    try {
      loadConfig({
        OPENAI_API_KEY: TEST_SECRETS.openai,
        DATABASE_URL: `mysql://app:${WRONG_DB_SECRET}@db.example/app`,
        SUPABASE_URL: `ftp://svc:${PROXY_SECRET}@x.example`,
        SUPABASE_SERVICE_ROLE_KEY: TEST_SECRETS.supabase,
        LIVEKIT_URL: `gopher://k:${TEST_SECRETS.livekitSecret}@lk.example`,
      });
    } catch (error) {
      configError = error;
    }
    expect(configError).toBeInstanceOf(ConfigError);
    const { message } = configError as ConfigError;
    texts.push(message);
    for (const name of ['DATABASE_URL', 'SUPABASE_URL', 'LIVEKIT_URL'])
      expect(message).toContain(name);

    const everything = [...texts, ...captured].join('\n');
    expect(everything).toMatch(/password authentication failed/);
    expect(everything).toMatch(/includes credentials|Connection error/);
    expect(leaks(everything)).toEqual([]);
  }, 60_000);
});
