/** cleanup() never cuts a request in flight; close() is idempotent and bounded by its deadline. */
import OpenAI from 'openai';
import { describe, expect, it, vi } from 'vitest';
import { ConnectionPool, type Logger } from '../../src/pool/index.js';
import { describeCleanup } from '../../src/tools/pool-summary.js';
import { closedAfterEach } from '../support/closed-after-each.js';
import { testConfig } from '../support/config.js';
import { type OpenAIServer, startOpenAIServer } from '../support/openai-server.js';

let server: OpenAIServer | undefined;
let pool: ConnectionPool | undefined;
const closeAfter = closedAfterEach();

async function start(env: Record<string, string> = {}) {
  server = closeAfter(await startOpenAIServer());
  pool = closeAfter(
    await ConnectionPool.create(testConfig({ OPENAI_BASE_URL: server.baseURL, ...env })),
  );
  return { server, pool };
}

const chat = (p: ConnectionPool) =>
  p.openai.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'ping' }],
  });

describe('pool.cleanup()', () => {
  it('lets a streaming response finish with every chunk while idle connections are closed', async () => {
    const { server, pool } = await start();
    // Two or more connections: one will carry the stream, the others stay idle.
    server.setLatency(100);
    await Promise.all([chat(pool), chat(pool)]);
    server.setLatency(0);
    const openBefore = server.openConnections;
    expect(openBefore).toBeGreaterThanOrEqual(2);

    const words = Array.from({ length: 20 }, (_, i) => `word${i}`);
    server.onChat(() => ({ content: words.join(' ') }));
    server.setChunkDelay(30);
    const stream = await pool.openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'tell me a long story' }],
      stream: true,
    });
    let text = '';
    let chunks = 0;
    let report: Awaited<ReturnType<ConnectionPool['cleanup']>> | undefined;
    let openDuringStream = -1;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      chunks++;
      if (chunks === 3) report = await pool.cleanup();
      if (chunks === 12) openDuringStream = server.openConnections;
    }

    expect(text).toBe(words.join(' '));
    expect(chunks).toBe(words.length + 2); // the role chunk, one per word, the finish chunk
    expect(openDuringStream).toBe(1); // the idle connections went at once; the stream's stayed
    expect(report).toMatchObject({
      idleConnectionsClosed: openBefore - 1,
      requestsLeftRunning: 1,
      errorWindowsReset: 2,
    });
    expect(pool.stats().lastCleanup).toEqual(report);
    expect(describeCleanup(report!)).toMatch(
      /^I closed \d+ idle connections? and reset the error counters\. 1 request was still running and will finish normally\.$/,
    );

    // The retired dispatcher lets go once its stream is done; new requests use a fresh one.
    await vi.waitFor(() => expect(pool.stats().connections.draining).toBe(0));
    const before = server.connectionsOpened;
    server.setChunkDelay(0);
    await expect(chat(pool)).resolves.toBeDefined();
    expect(server.connectionsOpened).toBe(before + 1);
  });
});

describe('pool.close()', () => {
  it('is idempotent: every call gets the same promise', async () => {
    const { pool } = await start();
    const first = pool.close();
    expect(pool.close()).toBe(first);
    await first;
    await expect(pool.close()).resolves.toBeUndefined();
    expect(pool.closed).toBe(true);
    expect(pool.stats().closed).toBe(true);
  });

  it('waits for a request in flight to finish', async () => {
    const { server, pool } = await start();
    server.setLatency(300);
    const inFlight = chat(pool);
    await vi.waitFor(() => expect(server.chatCalls).toBe(1));
    const started = performance.now();
    await pool.close();
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
    await expect(inFlight).resolves.toMatchObject({ object: 'chat.completion' });
  });

  it('destroys a hung request at the deadline and then rejects cleanup clearly', async () => {
    const { server, pool } = await start({ POOL_CLOSE_TIMEOUT_MS: '300' });
    server.injectFault({ kind: 'hang' }, { path: '/chat/completions' });
    const hung = chat(pool).catch((error: unknown) => error);
    await vi.waitFor(() => expect(server.chatCalls).toBe(1));

    const started = performance.now();
    await pool.close();
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(3_000);
    expect(await hung).toBeInstanceOf(OpenAI.APIConnectionError);
    await vi.waitFor(() => expect(server.openConnections).toBe(0));

    await expect(pool.cleanup()).rejects.toThrow(/connection pool is closed/);
  });

  it('with POOL_CLOSE_TIMEOUT_MS=0, destroys a request in flight at once, without waiting', async () => {
    server = closeAfter(await startOpenAIServer());
    const logger = { info: vi.fn(), warn: vi.fn() };
    pool = closeAfter(
      await ConnectionPool.create(
        testConfig({ OPENAI_BASE_URL: server.baseURL, POOL_CLOSE_TIMEOUT_MS: '0' }),
        { logger: logger as unknown as Logger },
      ),
    );
    server.setLatency(2_000);
    const inFlight = chat(pool).catch((error: unknown) => error);
    await vi.waitFor(() => expect(server!.chatCalls).toBe(1));

    const started = performance.now();
    await pool.close();
    expect(performance.now() - started).toBeLessThan(250);
    expect(await inFlight).toBeInstanceOf(OpenAI.APIConnectionError);
    await vi.waitFor(() => expect(server!.openConnections).toBe(0));
    // 0 is "no wait", not a deadline that passed (p-timeout throws a TypeError for 0 ms).
    expect(logger.warn).not.toHaveBeenCalled();
  });

  it('also ends a hung request left on a dispatcher that cleanup retired', async () => {
    const { server, pool } = await start({ POOL_CLOSE_TIMEOUT_MS: '300' });
    server.injectFault({ kind: 'hang' }, { path: '/chat/completions' });
    const hung = chat(pool).catch((error: unknown) => error);
    await vi.waitFor(() => expect(server.chatCalls).toBe(1));
    expect(await pool.cleanup()).toMatchObject({ requestsLeftRunning: 1 });
    expect(pool.stats().connections.draining).toBe(1);

    const started = performance.now();
    await pool.close();
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(await hung).toBeInstanceOf(OpenAI.APIConnectionError);
    await vi.waitFor(() => expect(server.openConnections).toBe(0));
  });
});
