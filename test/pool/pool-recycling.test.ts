/**
 * Recycling by age, as issue 20 asks to prove it: "with a short maximum age". The age is the one
 * option set shorter than production's hour here, on purpose: it is a configuration an operator
 * may set (POOL_MAX_CONNECTION_AGE_MS allows 1 s and up), and the behaviour under test needs the
 * age to pass in real time while real connections idle and stream. (Production's hour, on fake
 * timers: test/unit/pool/connection-recycler.test.ts.)
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, vi } from 'vitest';
import { ConnectionPool } from '../../src/pool/index.js';
import { closedAfterEach } from '../support/closed-after-each.js';
import { testConfig } from '../support/config.js';
import { type OpenAIServer, startOpenAIServer } from '../support/openai-server.js';

const MAX_AGE_MS = 3_000;
const REPLY = 'one two three four five six seven eight';

let server: OpenAIServer | undefined;
let pool: ConnectionPool | undefined;
const closeAfter = closedAfterEach();

const turn = (p: ConnectionPool) =>
  p.openai.chat.completions.create({
    model: 'gpt-4o-mini',
    stream: true,
    messages: [{ role: 'user', content: 'Tell me a story.' }],
  });

describe('recycling connections by age', () => {
  it('replaces idle connections past the age, lets a busy one finish first, and the next turn finds a warm one', async () => {
    server = closeAfter(await startOpenAIServer());
    server.onChat(() => ({ content: REPLY }));
    pool = closeAfter(
      await ConnectionPool.create(
        testConfig({
          OPENAI_BASE_URL: server.baseURL,
          POOL_MAX_CONNECTION_AGE_MS: String(MAX_AGE_MS),
        }),
      ),
    );
    const p = pool;
    const warmAtBuild = server.connectionsOpened;
    expect(warmAtBuild).toBe(2);

    // A turn streams across the moment the connections come of age (chunks 250 ms apart).
    await sleep(MAX_AGE_MS - 600);
    server.setChunkDelay(250);
    const streaming = (async () => {
      let text = '';
      let finish: string | null | undefined;
      for await (const chunk of await turn(p)) {
        text += chunk.choices[0]?.delta.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      return { text, finish };
    })();
    await vi.waitFor(() => expect(p.stats().connections.lanes.voice.recycled).toBe(2), {
      timeout: 2_000,
      interval: 20,
    });
    // The idle connection went at once; the busy one is still streaming, never cut.
    expect(server.inFlight).toBe(1);
    const streamed = await streaming;
    expect(streamed).toEqual({ text: REPLY, finish: 'stop' });

    // Two warm replacements were opened in the background; the old connections are gone.
    await vi.waitFor(() => {
      expect(server!.connectionsOpened).toBe(warmAtBuild + 2);
      expect(server!.openConnections).toBe(2);
    });
    server.setChunkDelay(0);
    const opened = server.connectionsOpened;
    const before = server.requests.length;
    for await (const _ of await turn(p));
    expect(server.connectionsOpened).toBe(opened);
    const nextTurn = server.requests.slice(before).find((r) => r.path.endsWith('/completions'));
    expect(nextTurn!.connection).toBeGreaterThan(warmAtBuild);
    expect(p.stats().connections.maxConnectionAgeMs).toBe(MAX_AGE_MS);
  });
});
