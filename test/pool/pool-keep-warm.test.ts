/**
 * A prewarmed process waits for its call while the API front end closes idle connections
 * without a word: the pool keeps its connections warm, so the first turn opens none. (KeepWarm
 * alone, on fake timers: test/unit/pool/keep-warm.test.ts.)
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConnectionPool } from '../../src/pool/index.js';
import { testConfig } from '../support/config.js';
import { type OpenAIServer, startOpenAIServer } from '../support/openai-server.js';

/** The front end's idle timeout, real time (scaled down from tens of seconds). */
const SERVER_IDLE_MS = 1_000;

let server: OpenAIServer | undefined;
let pool: ConnectionPool | undefined;
afterEach(async () => {
  vi.useRealTimers();
  await pool?.close();
  await server?.close();
  pool = server = undefined;
});

/**
 * `fakeMinutes` of waiting on the pool's clock (fake `Date` and intervals), squeezed into real
 * time so that each of its looks comes well inside the server's real idle timeout.
 */
async function waitForTheCall(fakeMs: number): Promise<void> {
  const stepMs = testConfig().pool.keepWarmMs / 2; // one look of the keep-warm timer
  for (let waited = 0; waited < fakeMs; waited += stepMs) {
    await vi.advanceTimersByTimeAsync(stepMs);
    await new Promise((resolve) => setTimeout(resolve, SERVER_IDLE_MS / 4)); // real time
  }
}

async function idleThenFirstTurn(env: Record<string, string>) {
  server = await startOpenAIServer({ idleTimeoutMs: SERVER_IDLE_MS });
  vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'] });
  pool = await ConnectionPool.create(testConfig({ OPENAI_BASE_URL: server.baseURL, ...env }));
  const afterPrewarm = server.connectionsOpened;
  // 2 min 50 s: the health monitor's own GET (every 60 s) is 50 s behind when the call comes.
  await waitForTheCall(170_000);
  const opened = server.connectionsOpened;
  await pool.openai.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'hello?' }],
  });
  return {
    afterPrewarm,
    newOnFirstTurn: server.connectionsOpened - opened,
    idleClosed: server.idleClosed,
    keepWarmRequests: pool.stats().connections.keepWarmRequests,
    healthChecks: pool.stats().connections.lanes.background.requests,
  };
}

describe('keeping connections warm while a call is awaited', () => {
  it('the first turn after minutes of waiting finds a warm connection; the cost is counted', async () => {
    const warm = await idleThenFirstTurn({});
    expect(warm.newOnFirstTurn).toBe(0);
    // No voice connection went idle long enough to be closed. The health checks (at 60 s and
    // 120 s) are background work: each went out on a background connection of its own, which
    // nothing keeps warm and the front end closed; those are all it closed.
    expect(warm.healthChecks).toBe(2);
    expect(warm.idleClosed).toBe(warm.healthChecks);
    // Two connections every 10 s of idling at most: 12 cheap GETs an idle minute.
    expect(warm.keepWarmRequests).toBeGreaterThan(0);
    expect(warm.keepWarmRequests).toBeLessThanOrEqual(Math.ceil((170_000 / 60_000) * 12));
  });

  it('without it (POOL_KEEP_WARM_MS=0), the front end closes them and the first turn reconnects', async () => {
    const cold = await idleThenFirstTurn({ POOL_KEEP_WARM_MS: '0' });
    expect(cold.idleClosed).toBeGreaterThan(0);
    expect(cold.newOnFirstTurn).toBe(1);
    expect(cold.keepWarmRequests).toBe(0);
  });
});
