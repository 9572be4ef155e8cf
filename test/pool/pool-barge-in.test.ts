/** A barge-in aborts the streamed reply, and with it its connection: the pool replaces it at once. */
import { describe, expect, it, vi } from 'vitest';
import { ConnectionPool } from '../../src/pool/index.js';
import { closedAfterEach } from '../support/closed-after-each.js';
import { testConfig } from '../support/config.js';
import { type OpenAIServer, startOpenAIServer } from '../support/openai-server.js';

let server: OpenAIServer | undefined;
let pool: ConnectionPool | undefined;
const closeAfter = closedAfterEach();

/** Until every connection is back in the pool (undici frees a socket a tick after its response). */
async function untilIdle(p: ConnectionPool): Promise<void> {
  await vi.waitFor(() => {
    for (const origin of Object.values(p.stats().connections.perOrigin)) {
      expect(origin.free).toBe(origin.connected);
    }
  });
}

async function streamThenAbortAfter(p: ConnectionPool, chunks: number): Promise<number> {
  const controller = new AbortController();
  const stream = await p.openai.chat.completions.create(
    {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'tell me a long story' }],
      stream: true,
    },
    { signal: controller.signal },
  );
  let seen = 0;
  try {
    for await (const _chunk of stream) {
      if (++seen === chunks) controller.abort();
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  }
  return seen;
}

describe('barge-in', () => {
  it('opens a replacement connection when a streamed reply is aborted; the next turn finds it warm', async () => {
    server = closeAfter(await startOpenAIServer());
    pool = closeAfter(await ConnectionPool.create(testConfig({ OPENAI_BASE_URL: server.baseURL })));
    server.onChat(() => ({ content: Array.from({ length: 30 }, (_, i) => `w${i}`).join(' ') }));
    server.setChunkDelay(20);
    expect(server.openConnections).toBe(2); // the warm-up's: two, for the LLM and the TTS
    await untilIdle(pool);

    expect(await streamThenAbortAfter(pool, 2)).toBe(2);
    // The aborted stream's connection is gone; a replacement comes up by itself.
    await vi.waitFor(() => {
      expect(pool!.stats().connections.replacedAfterAbort).toBe(1);
      expect(server!.requests.at(-1)?.path).toBe('/v1/models');
      expect(server!.openConnections).toBe(2);
    });
    const opened = server.connectionsOpened;

    // The next turn (a moment later: the caller is still speaking) reuses it.
    await untilIdle(pool);
    server.setChunkDelay(0);
    await pool.openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'and now?' }],
    });
    expect(server.connectionsOpened).toBe(opened);
  });

  it('a request that times out against a hanging server is not a barge-in: nothing is replaced', async () => {
    server = closeAfter(await startOpenAIServer());
    pool = closeAfter(await ConnectionPool.create(testConfig({ OPENAI_BASE_URL: server.baseURL })));
    await untilIdle(pool);
    server.setLatency(60_000); // no answer, not even headers
    const requests = 10;
    const outcomes = await Promise.allSettled(
      Array.from({ length: requests }, () =>
        pool!.openai.chat.completions.create(
          { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello?' }] },
          { signal: AbortSignal.timeout(200) },
        ),
      ),
    );
    expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
    // Give a replacement, if one were started, the time to reach the server.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(pool.stats().connections.replacedAfterAbort).toBe(0);
    expect(server.requests.filter((r) => r.path === '/v1/models')).toHaveLength(2); // warm-up
    // (Connections: undici itself opens some beyond the aborted ones; that is not the pool's
    // doing, and it is capped per origin like any other.)
    expect(server.openConnections).toBeLessThanOrEqual(testConfig().pool.connectionsPerOrigin);
  });

  it('a request that completes normally triggers no replacement', async () => {
    server = closeAfter(await startOpenAIServer());
    pool = closeAfter(await ConnectionPool.create(testConfig({ OPENAI_BASE_URL: server.baseURL })));
    await untilIdle(pool);
    for (let i = 0; i < 3; i++) {
      const stream = await pool.openai.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'hello' }],
        stream: true,
      });
      for await (const _chunk of stream) {
        // read to the end
      }
      await untilIdle(pool); // turns are seconds apart, not back to back
    }
    expect(pool.stats().connections.replacedAfterAbort).toBe(0);
    expect(server.connectionsOpened).toBe(2); // the warm-up's, no more
  });
});
