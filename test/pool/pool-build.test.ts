/** ConnectionPool.create: the warm-up steps run side by side, each bounded by its deadline. */
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionPool } from '../../src/pool/index.js';
import { TEST_SECRETS, testConfig } from '../support/config.js';
import { type OpenAIServer, startOpenAIServer } from '../support/openai-server.js';

/** A stand-in for Supabase's gateway: answers the pool's warm-up GET after `latencyMs`. */
async function startSupabaseStandIn(latencyMs: number) {
  const seen: { method: string; path: string; apikey: boolean }[] = [];
  const server: Server = createServer((req, res) => {
    seen.push({
      method: req.method ?? '',
      path: req.url ?? '',
      apikey: req.headers.apikey === TEST_SECRETS.supabase,
    });
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    }, latencyMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return { url, seen, close };
}

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function openaiServer(latencyMs = 0): Promise<OpenAIServer> {
  const server = await startOpenAIServer({ latencyMs });
  closers.push(() => server.close());
  return server;
}

async function pool(...args: Parameters<typeof ConnectionPool.create>): Promise<ConnectionPool> {
  const created = await ConnectionPool.create(...args);
  closers.push(() => created.close());
  return created;
}

describe('ConnectionPool.create', () => {
  it('warms OpenAI and Supabase up in parallel: two 200 ms steps are ready in well under 400 ms', async () => {
    const openai = await openaiServer(200);
    const supabase = await startSupabaseStandIn(200);
    closers.push(supabase.close);
    const config = testConfig({
      OPENAI_BASE_URL: openai.baseURL,
      SUPABASE_URL: supabase.url,
      SUPABASE_SERVICE_ROLE_KEY: TEST_SECRETS.supabase,
    });
    // A throwaway build first, so one-time module and JIT costs do not count.
    await (await ConnectionPool.create(config, { warmUp: false })).close();

    const started = performance.now();
    const built = await pool(config);
    const elapsed = performance.now() - started;

    const timings = built.buildTimingsMs;
    expect(timings.openai).toBeGreaterThanOrEqual(190);
    expect(timings.supabase).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(350);
    expect(timings.total).toBeLessThan(350);
    // Serially the two steps would take their sum; side by side, about the longer one.
    expect(timings.total!).toBeLessThan(0.85 * (timings.openai! + timings.supabase!));

    const stats = built.stats();
    expect(stats.buildTimingsMs).toEqual(timings);
    expect(stats.services.openai.health.status).toBe('healthy');
    expect(stats.services.supabase).toMatchObject({
      configured: true,
      health: { status: 'healthy' },
    });
    // The Supabase warm-up is a GET (undici closes the connection after a HEAD), with the key.
    expect(supabase.seen.at(-1)).toEqual({ method: 'GET', path: '/rest/v1/', apikey: true });
    expect(openai.requests.at(-1)).toMatchObject({ method: 'GET', path: '/v1/models' });
  });

  it('does not fail or stall on a service that never answers: it is recorded and the build goes on', async () => {
    const openai = await openaiServer();
    openai.injectFault({ kind: 'hang' }, { count: 5 });
    const config = testConfig({ OPENAI_BASE_URL: openai.baseURL, POOL_INIT_TIMEOUT_MS: '300' });

    const started = performance.now();
    const built = await pool(config);
    const elapsed = performance.now() - started;

    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(2_000);
    // Step and check share one deadline: a failed warm-up counts once, even a moment later.
    await new Promise((r) => setTimeout(r, 100));
    const health = built.stats().services.openai.health;
    expect(health.status).toBe('degraded');
    expect(health.consecutiveFailures).toBe(1);
    expect(health.lastError).toMatch(/300 ms/);
  });

  it('builds without warm-up requests when asked, leaving health unknown until checked', async () => {
    const openai = await openaiServer();
    const built = await pool(testConfig({ OPENAI_BASE_URL: openai.baseURL }), { warmUp: false });
    expect(openai.requests).toHaveLength(0);
    expect(built.stats().services.openai.health.status).toBe('unknown');
    await built.checkHealth();
    expect(built.stats().services.openai.health.status).toBe('healthy');
  });
});
