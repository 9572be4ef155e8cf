/**
 * The voice lane's overflow, at production defaults (base 5, overflow 2): a burst beyond the base
 * opens up to 2 more connections, a request beyond those waits for one of the lane's own, and the
 * overflow connections close once idle while the base stays warm; a request aborted while it
 * waits leaves the queue at once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, vi } from 'vitest';
import { ConnectionPool } from '../../src/pool/index.js';
import { OVERFLOW_IDLE_MS } from '../../src/pool/pool-lanes.js';
import { closedAfterEach } from '../support/closed-after-each.js';
import { testConfig } from '../support/config.js';
import { type OpenAIServer, startOpenAIServer } from '../support/openai-server.js';

let server: OpenAIServer | undefined;
let pool: ConnectionPool | undefined;
const closeAfter = closedAfterEach();

describe("the voice lane's overflow", () => {
  it('opens base + overflow connections for a burst, queues the rest, and closes the overflow once idle', async () => {
    server = closeAfter(await startOpenAIServer());
    pool = closeAfter(await ConnectionPool.create(testConfig({ OPENAI_BASE_URL: server.baseURL })));
    const { voiceConnections, voiceOverflow } = testConfig().pool;
    server.setLatency(300);
    const burst = voiceConnections + voiceOverflow + 1;
    await Promise.all(
      Array.from({ length: burst }, () =>
        pool!.openai.chat.completions.create({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: 'hi' }],
        }),
      ),
    );
    const voice = pool.stats().connections.lanes.voice;
    expect(voice).toMatchObject({ base: 5, overflow: 2, overflowRequests: 2, waited: 1 });
    expect(voice.maxWaitMs).toBeGreaterThanOrEqual(250);
    expect(server.connectionsOpened).toBe(voiceConnections + voiceOverflow);
    expect(server.maxInFlight).toBe(voiceConnections + voiceOverflow);

    // Idle: the overflow goes within about OVERFLOW_IDLE_MS, the base stays open.
    await sleep(OVERFLOW_IDLE_MS + 500);
    await vi.waitFor(() => expect(server!.openConnections).toBe(voiceConnections));
    expect(pool.stats().connections.lanes.voice.connected).toBe(voiceConnections);
  });
});

describe("the voice lane's queue", () => {
  it('lets a request aborted while it waits (a barge-in) leave the queue at once; it is never sent', async () => {
    server = closeAfter(await startOpenAIServer());
    pool = closeAfter(await ConnectionPool.create(testConfig({ OPENAI_BASE_URL: server.baseURL })));
    const { voiceConnections, voiceOverflow } = testConfig().pool;
    server.setLatency(400);
    const chat = (signal?: AbortSignal) =>
      pool!.openai.chat.completions.create(
        { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
        signal ? { signal } : {},
      );
    const sentBefore = server.requests.length;
    const running = Array.from({ length: voiceConnections + voiceOverflow }, () => chat());
    const bargeIn = new AbortController();
    const cancelled = chat(bargeIn.signal);
    await vi.waitFor(() => expect(pool!.stats().connections.lanes.voice.waiting).toBe(1));
    bargeIn.abort();
    await expect(cancelled).rejects.toThrow(/abort/i);
    expect(pool.stats().connections.lanes.voice.waiting).toBe(0);
    await Promise.all(running);
    // Only the lane's own requests reached the server: the aborted one never took a connection.
    expect(server.requests.length - sentBefore).toBe(voiceConnections + voiceOverflow);
  });
});
