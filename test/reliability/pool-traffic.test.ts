/**
 * cleanup() and close() in the middle of real traffic: many streamed replies at once, more than
 * the per-origin cap (so some wait in the dispatcher's queue), voice and background clients both.
 * Nothing in flight or queued is aborted: every stream arrives whole. (test/pool/pool-lifecycle
 * covers one stream and one request; this is the same promise under concurrency.)
 */
import { describe, expect, it } from 'vitest';
import { ConnectionPool } from '../../src/pool/index.js';
import { closedAfterEach } from '../support/closed-after-each.js';
import { testConfig } from '../support/config.js';
import { eventually } from '../support/eventually.js';
import { type OpenAIServer, startOpenAIServer } from '../support/openai-server.js';

let server: OpenAIServer | undefined;
let pool: ConnectionPool | undefined;
const closeAfter = closedAfterEach();

const CAP = 4;
const STREAMS = 24;
const WORDS = 12;

describe('pool cleanup and close under traffic', () => {
  it('abort nothing in flight or queued: every one of many concurrent streams arrives whole', async () => {
    server = closeAfter(await startOpenAIServer({ chunkDelayMs: 15 }));
    const s = server;
    s.onChat((request) => {
      const said = JSON.stringify(request.messages?.at(-1)?.content ?? '');
      const n = /stream (\d+)/.exec(said)?.[1] ?? '?';
      return { content: Array.from({ length: WORDS }, (_, i) => `s${n}w${i}`).join(' ') };
    });
    pool = closeAfter(
      await ConnectionPool.create(
        testConfig({
          OPENAI_BASE_URL: s.baseURL,
          POOL_CONNECTIONS_PER_ORIGIN: String(CAP),
          POOL_CLOSE_TIMEOUT_MS: '20000',
        }),
        { warmUp: false },
      ),
    );
    const p = pool;

    let maxServerConnections = 0;
    let maxCurrentDispatcher = 0;
    const sampler = setInterval(() => {
      maxServerConnections = Math.max(maxServerConnections, s.openConnections);
      const origins = Object.values(p.stats().connections.perOrigin);
      maxCurrentDispatcher = Math.max(maxCurrentDispatcher, ...origins.map((o) => o.connected));
    }, 5);

    const stream = async (n: number) => {
      // Half on the voice client, half on the background client (SDK retries): one dispatcher.
      const client = n % 2 === 0 ? p.openai : p.openaiBackground;
      const reply = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: `stream ${n}` }],
        stream: true,
      });
      let text = '';
      for await (const chunk of reply) text += chunk.choices[0]?.delta.content ?? '';
      return text;
    };
    // Four waves: each one starts, then a cleanup retires the dispatcher it is running and
    // queued on; the last wave is still going (and partly queued) when the pool is closed.
    const all: Promise<string>[] = [];
    const reports = [];
    const wave = STREAMS / 4;
    for (let i = 0; i < 4; i++) {
      for (let n = i * wave; n < (i + 1) * wave; n++) all.push(stream(n));
      // Part of the wave is streaming (the rest waits behind the cap) when the pool is touched.
      await eventually(() => expect(s.chatCalls).toBeGreaterThan(i * wave), 5_000);
      if (i < 3) reports.push(await p.cleanup());
    }
    const closing = p.close();
    const results = await Promise.allSettled(all);
    await closing;
    clearInterval(sampler);

    const failed = results.filter((r) => r.status === 'rejected');
    expect(failed, JSON.stringify(failed.slice(0, 2))).toEqual([]);
    results.forEach((r, n) => {
      const expected = Array.from({ length: WORDS }, (_, i) => `s${n}w${i}`).join(' ');
      expect(r).toEqual({ status: 'fulfilled', value: expected });
    });
    expect(s.chatCalls).toBe(STREAMS);
    // Closed means closed: no connection of any dispatcher, live or retired, is left open.
    await eventually(() => expect(s.openConnections).toBe(0));
    expect(reports.some((r) => r.requestsLeftRunning > 0)).toBe(true);
    // Each dispatcher keeps the cap; a retired one finishes its requests beside the new one.
    expect(maxCurrentDispatcher).toBeLessThanOrEqual(CAP);
    expect(maxServerConnections).toBeLessThanOrEqual(CAP * (reports.length + 1));
    console.info(
      `[reliability] pool under traffic: ${STREAMS} streams, 3 cleanups + close, 0 aborted; ` +
        `max connections: ${maxCurrentDispatcher} on the live dispatcher (cap ${CAP}), ` +
        `${maxServerConnections} at the server with retired dispatchers finishing`,
    );
  }, 30_000);
});
