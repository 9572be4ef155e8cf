/** The health monitor: degraded, then down, then a rebuilt client; healthy again when back. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConnectionPool } from '../../src/pool/index.js';
import { testConfig } from '../support/config.js';
import { type OpenAIServer, startOpenAIServer } from '../support/openai-server.js';

let servers: OpenAIServer[] = [];
let pool: ConnectionPool | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await pool?.close();
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
  pool = undefined;
});

async function server(port?: number): Promise<OpenAIServer> {
  const started = await startOpenAIServer(port === undefined ? {} : { port });
  servers.push(started);
  return started;
}

const openaiHealth = (p: ConnectionPool) => p.stats().services.openai.health;

describe('health monitor', () => {
  it('goes degraded, then down, rebuilds the client, and is healthy once the server is back', async () => {
    const first = await server();
    // The default interval (60 s) never fires here: the test drives the checks itself.
    pool = await ConnectionPool.create(testConfig({ OPENAI_BASE_URL: first.baseURL }));
    const original = pool.openai;
    expect(openaiHealth(pool)).toMatchObject({ status: 'healthy', consecutiveFailures: 0 });

    await first.close();
    await pool.checkHealth();
    expect(openaiHealth(pool)).toMatchObject({
      status: 'degraded',
      consecutiveFailures: 1,
      lastError: expect.stringMatching(/Connection error|ECONNREFUSED/),
      rebuilds: 0,
    });
    await pool.checkHealth();
    expect(openaiHealth(pool)).toMatchObject({ status: 'degraded', consecutiveFailures: 2 });
    await pool.checkHealth();
    expect(openaiHealth(pool)).toMatchObject({
      status: 'down',
      consecutiveFailures: 3,
      rebuilds: 1,
    });
    expect(pool.openai).not.toBe(original);
    expect(pool.stats().connections.connectErrors).toBeGreaterThanOrEqual(3);

    // Back on the same port: the next check finds it, and the rebuilt client works.
    const back = await server(first.port);
    await pool.checkHealth();
    expect(openaiHealth(pool)).toMatchObject({
      status: 'healthy',
      consecutiveFailures: 0,
      rebuilds: 1,
    });
    const reply = await pool.openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'still there?' }],
    });
    expect(reply.choices[0]?.message.content).toBe('You said: still there?');
    expect(back.chatCalls).toBe(1);
  });

  it('rebuilds again only after twice as many failures (3, 6, 12…)', async () => {
    const openai = await server();
    pool = await ConnectionPool.create(testConfig({ OPENAI_BASE_URL: openai.baseURL }));
    openai.injectFault({ kind: 'status', status: 503 }, { count: 6, path: '/models' });
    const clients = new Set([pool.openai]);
    for (let i = 0; i < 6; i++) {
      await pool.checkHealth();
      clients.add(pool.openai);
    }
    expect(openaiHealth(pool)).toMatchObject({
      status: 'down',
      consecutiveFailures: 6,
      rebuilds: 2,
    });
    expect(clients.size).toBe(3);
    expect(openaiHealth(pool).lastError).toMatch(/503/);
  });

  it('checks on its own timer, which never keeps the process alive', async () => {
    const openai = await server();
    const setIntervalSpy = vi.spyOn(globalThis, 'setInterval');
    pool = await ConnectionPool.create(
      testConfig({ OPENAI_BASE_URL: openai.baseURL, HEALTH_CHECK_INTERVAL_MS: '1000' }),
      { warmUp: false },
    );
    const timers = setIntervalSpy.mock.results.map((r) => r.value as NodeJS.Timeout);
    expect(timers.length).toBeGreaterThanOrEqual(1);
    expect(timers.every((t) => !t.hasRef())).toBe(true);

    // No warm-up and no manual check: whatever reaches the server came from the timer.
    openai.injectFault({ kind: 'status', status: 503 }, { count: 1_000, path: '/models' });
    await vi.waitFor(() => expect(openaiHealth(pool!).status).toBe('degraded'), {
      timeout: 4_000,
      interval: 50,
    });
    await vi.waitFor(() => expect(openaiHealth(pool!).status).toBe('down'), {
      timeout: 6_000,
      interval: 50,
    });
    openai.clearFaults();
    await vi.waitFor(() => expect(openaiHealth(pool!).status).toBe('healthy'), {
      timeout: 4_000,
      interval: 50,
    });
    expect(openai.requests.filter((r) => r.path === '/v1/models').length).toBeGreaterThanOrEqual(4);

    // After close, the timer is gone: no more checks.
    await pool.close();
    const checks = openai.requests.length;
    await new Promise((r) => setTimeout(r, 1_300));
    expect(openai.requests.length).toBe(checks);
  }, 25_000);
});
