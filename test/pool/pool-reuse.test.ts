/** Warm connections are reused and capped, counted on the server side of the socket. */
import OpenAI, { type ClientOptions } from 'openai';
import { Agent } from 'undici';
import { describe, expect, it } from 'vitest';
import { ConnectionPool } from '../../src/pool/index.js';
import { closedAfterEach } from '../support/closed-after-each.js';
import { testConfig } from '../support/config.js';
import { type OpenAIServer, startOpenAIServer } from '../support/openai-server.js';

let server: OpenAIServer | undefined;
let pool: ConnectionPool | undefined;
const closeAfter = closedAfterEach();

/** Runs `total` tasks, at most `concurrency` at a time. */
async function runLimited(total: number, concurrency: number, task: () => Promise<unknown>) {
  let next = 0;
  const worker = async () => {
    while (next < total) {
      next++;
      await task();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

const chat = (client: OpenAI) =>
  client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'ping' }],
  });

async function start(env: Record<string, string>) {
  server = closeAfter(await startOpenAIServer());
  pool = closeAfter(
    await ConnectionPool.create(testConfig({ OPENAI_BASE_URL: server.baseURL, ...env })),
  );
  return { server, pool };
}

describe('connection reuse', () => {
  it('serves 100 calls at concurrency 5 over at most 5 connections; fresh clients need ~100', async () => {
    // The cap equals the concurrency: undici checks an idle socket for one tick before reusing
    // it, so an uncapped (or larger) pool opens extra connections for back-to-back calls.
    const { server, pool } = await start({ POOL_CONNECTIONS_PER_ORIGIN: '5' });
    server.setLatency(5);
    await runLimited(100, 5, () => chat(pool.openai));
    const pooled = server.connectionsOpened;
    expect(pooled).toBeLessThanOrEqual(5);
    const stats = pool.stats();
    // The pool's own accounting agrees with the server.
    expect(stats.connections.opened).toBe(pooled);
    expect(stats.services.openai.requests).toBe(102); // 100 calls and the warm-up's two
    expect(stats.connections.warmReuseRatio).toBeGreaterThanOrEqual(0.95);

    // The baseline: a new client and a new dispatcher for every call.
    await runLimited(100, 5, async () => {
      const dispatcher = new Agent();
      try {
        const fetchOptions = { dispatcher } as unknown as ClientOptions['fetchOptions'];
        await chat(new OpenAI({ apiKey: 'sk-baseline', baseURL: server.baseURL, fetchOptions }));
      } finally {
        await dispatcher.close();
      }
    });
    const fresh = server.connectionsOpened - pooled;
    expect(fresh).toBeGreaterThanOrEqual(90);
    expect(fresh).toBeGreaterThan(10 * pooled);
    // Another client's connections are not the pool's.
    expect(pool.stats().connections.opened).toBe(pooled);
  });

  it('never opens more than POOL_CONNECTIONS_PER_ORIGIN connections: 50 concurrent calls over 4', async () => {
    const { server, pool } = await start({ POOL_CONNECTIONS_PER_ORIGIN: '4' });
    server.setLatency(50);
    let mostOpen = 0;
    const watch = setInterval(() => (mostOpen = Math.max(mostOpen, server.openConnections)), 5);
    const started = performance.now();
    try {
      await Promise.all(Array.from({ length: 50 }, () => chat(pool.openai)));
    } finally {
      clearInterval(watch);
    }
    const elapsed = performance.now() - started;
    expect(server.connectionsOpened).toBeLessThanOrEqual(4);
    expect(mostOpen).toBeLessThanOrEqual(4);
    // Queued, not refused: 50 calls of 50 ms over 4 connections take at least ~625 ms.
    expect(elapsed).toBeGreaterThanOrEqual(500);
    expect(pool.stats().services.openai).toMatchObject({ requests: 52, errors: 0, inFlight: 0 });
    expect(pool.stats().connections.maxPerOrigin).toBe(4);
  });
});
