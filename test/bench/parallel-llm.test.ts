/**
 * The "20 calls under a limit of 8" check can fail: the server counts the requests it holds at
 * once, so an extractor built with a limit of 9 shows 9 and the row says FAIL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALL_MS, LIMIT, measureLimitedCalls } from '../../bench/scenarios/parallel-llm.js';
import { ConnectionPool } from '../../src/pool/connection-pool.js';
import { testConfig } from '../support/config.js';
import { type OpenAIServer, startOpenAIServer } from '../support/openai-server.js';

describe('bench check: 20 calls under a limit of 8', () => {
  let server: OpenAIServer;
  let pool: ConnectionPool;
  beforeAll(async () => {
    server = await startOpenAIServer({ latencyMs: CALL_MS, noKeepAliveHint: true });
    pool = await ConnectionPool.create(testConfig({ OPENAI_BASE_URL: server.baseURL }));
  });
  afterAll(async () => {
    await pool?.close();
    await server?.close();
  });

  it('passes when the server sees exactly 8 at once', async () => {
    const row = await measureLimitedCalls({ server, pool, runs: 1 });
    expect(row.ours.figures.serverMaxInFlight).toBe(LIMIT);
    expect(row.pass).toBe(true);
  });

  it('fails when the extractor’s limit is 9', async () => {
    const row = await measureLimitedCalls({ server, pool, concurrency: LIMIT + 1, runs: 1 });
    expect(row.ours.figures.serverMaxInFlight).toBe(LIMIT + 1);
    expect(row.pass).toBe(false);
  });

  it('counts chat completions in flight at the server: two held at once, none after; a GET is not one', async () => {
    server.resetMaxInFlight();
    const ask = () =>
      fetch(`${server.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
      }).then((r) => r.arrayBuffer());
    const models = () => fetch(`${server.baseURL}/models`).then((r) => r.arrayBuffer());
    await Promise.all([ask(), ask(), models()]);
    expect(server.maxInFlight).toBe(2);
    expect(server.inFlight).toBe(0);
  });
});
