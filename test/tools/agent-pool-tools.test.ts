/**
 * The assistant in text mode (the real AgentSession, no room) on a pool that talks to the local
 * OpenAI server: asked about the pool, it calls the tool and says the tool's summary.
 */
import type { voice } from '@livekit/agents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAssistant } from '../../src/call/assistant.js';
import type { Config } from '../../src/config/config.js';
import { ConnectionPool } from '../../src/pool/index.js';
import { runTurn, startTextSession } from '../support/agent-harness.js';
import { TEST_SECRETS, testConfig } from '../support/config.js';
import { type OpenAIServer, startOpenAIServer } from '../support/openai-server.js';

let server: OpenAIServer;
let config: Config;
let pool: ConnectionPool;
let session: voice.AgentSession;

beforeAll(async () => {
  server = await startOpenAIServer();
  config = testConfig({ OPENAI_BASE_URL: server.baseURL });
  pool = await ConnectionPool.create(config);
  session = await startTextSession(pool, config, createAssistant({ pool }));
});
afterAll(async () => {
  await session?.close();
  await pool?.close();
  await server?.close();
});

/** A tool output as the framework records it: JSON-encoded. */
const spoken = (output: string) => JSON.parse(output) as string;

describe('assistant pool tools, in a text session', () => {
  it('answers "how is the connection pool doing?" with the stats tool and its summary', async () => {
    const result = await runTurn(session, 'how is the connection pool doing?');
    result.expect.nextEvent().isFunctionCall({ name: 'getConnectionPoolStats' });
    const output = result.expect.nextEvent().isFunctionCallOutput({ isError: false }).event().item;
    const summary = spoken(output.output);
    expect(summary).toMatch(/^All services are healthy; \d+ connections? (is|are) open/);

    const reply = result.expect.nextEvent().isMessage({ role: 'assistant' }).event().item;
    expect(reply.textContent).toContain(summary);
    expect(reply.textContent).toMatch(/healthy/);
    expect(reply.textContent).toMatch(/connections?/);
    for (const secret of Object.values(TEST_SECRETS))
      expect(reply.textContent).not.toContain(secret);
    result.expect.noMoreEvents();
  });

  it('cleans the pool up when asked, and says what it did', async () => {
    const result = await runTurn(session, 'please clean up the connection pool');
    result.expect.nextEvent().isFunctionCall({ name: 'cleanupConnectionPool' });
    const output = result.expect.nextEvent().isFunctionCallOutput({ isError: false }).event().item;
    const report = spoken(output.output);
    expect(report).toMatch(/^I closed \d+ idle connections? and reset the error counters\./);

    const reply = result.expect.nextEvent().isMessage({ role: 'assistant' }).event().item;
    expect(reply.textContent).toContain(report);
    result.expect.noMoreEvents();
    expect(pool.stats().lastCleanup).toBeDefined();
  });

  it('sends the voice pipeline’s LLM traffic through the pool', async () => {
    const stats = pool.stats();
    // The warm-up, the plugin's prewarm and two LLM calls per tool turn, all counted.
    expect(stats.services.openai.requests).toBeGreaterThanOrEqual(5);
    expect(stats.connections.opened).toBe(server.connectionsOpened);
    expect(server.chatCalls).toBe(4);
  });
});
