/** pool.stats(): the figures an operator reads, JSON-safe and free of secrets. */
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionPool } from '../../src/pool/index.js';
import { TEST_SECRETS, testConfig } from '../support/config.js';
import {
  type OpenAIServer,
  createSelfSignedCertificate,
  startOpenAIServer,
} from '../support/openai-server.js';

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  // Pools before servers: a pool closes its connections gracefully.
  for (const close of closers.splice(0).reverse()) await close();
});

async function server(options?: Parameters<typeof startOpenAIServer>[0]): Promise<OpenAIServer> {
  const started = await startOpenAIServer(options);
  closers.push(() => started.close());
  return started;
}

async function pool(...args: Parameters<typeof ConnectionPool.create>): Promise<ConnectionPool> {
  const created = await ConnectionPool.create(...args);
  closers.push(() => created.close());
  return created;
}

const chat = (p: ConnectionPool) =>
  p.openai.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'ping' }],
  });

describe('pool.stats()', () => {
  it('reports uptime, per-service traffic, latency, health and connections, as plain JSON', async () => {
    const openai = await server();
    const p = await pool(testConfig({ OPENAI_BASE_URL: openai.baseURL }));
    for (let i = 0; i < 5; i++) await chat(p);
    openai.injectFault({ kind: 'status', status: 500 });
    await expect(chat(p)).rejects.toBeInstanceOf(OpenAI.InternalServerError);

    const stats = p.stats();
    expect(JSON.parse(JSON.stringify(stats))).toEqual(stats);
    expect(stats.uptimeMs).toBeGreaterThanOrEqual(0);
    expect(stats.closed).toBe(false);
    expect(stats.services.openai).toMatchObject({
      configured: true,
      requests: 8, // the warm-up's two, five calls and the failed one
      errors: 1,
      inFlight: 0,
      health: { status: 'healthy', consecutiveFailures: 0, rebuilds: 0 },
    });
    const latency = stats.services.openai.latencyMs;
    expect(latency.samples).toBe(8);
    expect(latency.p50!).toBeLessThanOrEqual(latency.p95!);
    expect(latency.p95!).toBeLessThanOrEqual(latency.p99!);

    const origin = new URL(openai.baseURL).origin;
    expect(stats.connections).toMatchObject({
      opened: openai.connectionsOpened,
      tlsHandshakes: 0,
      connectErrors: 0,
      maxPerOrigin: 17,
      keepAliveTimeoutMs: 60_000,
    });
    expect(stats.connections.warmReuseRatio).toBeCloseTo(1 - openai.connectionsOpened / 8, 2);
    expect(stats.connections.perOrigin[origin]).toMatchObject({ running: 0, pending: 0 });
    expect(stats.connections.perOrigin[origin]!.connected).toBeGreaterThanOrEqual(1);
  });

  it('says when Supabase is not configured, and has no requests to reuse before any are made', async () => {
    const openai = await server();
    const p = await pool(testConfig({ OPENAI_BASE_URL: openai.baseURL }), { warmUp: false });
    const stats = p.stats();
    expect(stats.services.supabase).toMatchObject({
      configured: false,
      requests: 0,
      health: { status: 'unknown' },
    });
    expect(stats.connections.warmReuseRatio).toBeNull();
    expect(p.supabase).toBeUndefined();
  });

  it('counts TLS handshakes against an HTTPS server with a private CA', async () => {
    const tls = await createSelfSignedCertificate();
    const openai = await server({ tls, latencyMs: 50 });
    const p = await pool(testConfig({ OPENAI_BASE_URL: openai.baseURL }), {
      tls: { ca: tls.cert },
    });
    // Concurrent calls need more than the warm connection.
    await Promise.all(Array.from({ length: 4 }, () => chat(p)));
    const { connections } = p.stats();
    expect(connections.opened).toBe(openai.connectionsOpened);
    expect(connections.opened).toBeGreaterThanOrEqual(2);
    expect(connections.tlsHandshakes).toBe(connections.opened);
    expect(connections.tlsSessionsResumed).toBeLessThanOrEqual(connections.tlsHandshakes);
    expect(p.stats().services.openai.health.status).toBe('healthy');
  });

  it('never carries a secret, even after errors whose messages echo one', async () => {
    const openai = await server();
    // Supabase configured on a port nobody listens on: its warm-up fails with a connect error.
    const gone = await startOpenAIServer();
    await gone.close();
    const config = testConfig({
      OPENAI_BASE_URL: openai.baseURL,
      SUPABASE_URL: `http://127.0.0.1:${gone.port}`,
      SUPABASE_SERVICE_ROLE_KEY: TEST_SECRETS.supabase,
      LIVEKIT_API_KEY: TEST_SECRETS.livekitKey,
      LIVEKIT_API_SECRET: TEST_SECRETS.livekitSecret,
    });
    const leaky = async () => {
      throw new Error(
        `auth failed for ${TEST_SECRETS.supabase} with ${TEST_SECRETS.livekitSecret}`,
      );
    };
    const p = await pool(config, { healthChecks: { memoryStore: leaky } });
    // As the real API does, the 401 names the key it was given.
    openai.injectFault(
      {
        kind: 'status',
        status: 401,
        message: `Incorrect API key provided: ${TEST_SECRETS.openai}. LiveKit ${TEST_SECRETS.livekitKey}`,
      },
      { path: '/models' },
    );
    await p.checkHealth();

    const stats = p.stats();
    expect(stats.services.openai.health).toMatchObject({
      status: 'degraded',
      lastError: expect.stringContaining('Incorrect API key provided'),
    });
    expect(stats.otherHealth.memoryStore?.lastError).toMatch(/auth failed/);
    expect(stats.services.supabase.health.status).not.toBe('healthy');
    expect(stats.connections.connectErrors).toBeGreaterThanOrEqual(1);
    expect(stats.connections.lastConnectError).toMatch(/ECONNREFUSED/);
    const json = JSON.stringify(stats);
    expect(json).toContain('[redacted]');
    for (const secret of Object.values(TEST_SECRETS)) expect(json).not.toContain(secret);
  });
});
