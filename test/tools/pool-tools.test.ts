/** The operator's voice tools and the sentences they speak. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ConnectionPool,
  type LaneStats,
  type PoolStats,
  type ServiceHealth,
} from '../../src/pool/index.js';
import { describeCleanup, describePoolStats } from '../../src/tools/pool-summary.js';
import { createPoolTools } from '../../src/tools/pool-tools.js';
import { TEST_SECRETS, testConfig } from '../support/config.js';
import { type OpenAIServer, startOpenAIServer } from '../support/openai-server.js';
import { toolOptions } from '../support/tool-options.js';

const health = (status: ServiceHealth['status'], lastError?: string): ServiceHealth => ({
  status,
  consecutiveFailures: status === 'healthy' ? 0 : 3,
  rebuilds: 0,
  lastError,
});

/** A lane as the pool reports it, at rest unless told otherwise. */
const lane = (base: number, overflow: number, figures: Partial<LaneStats> = {}): LaneStats => ({
  base,
  overflow,
  connected: 0,
  running: 0,
  waiting: 0,
  requests: 0,
  overflowRequests: 0,
  waited: 0,
  maxWaitMs: 0,
  acquireTimeouts: 0,
  acquireTimeoutMs: overflow > 0 ? null : 5_000,
  recycled: 0,
  ...figures,
});

const service = (status: ServiceHealth['status'], configured = true) => ({
  configured,
  requests: 10,
  errors: 0,
  errorRate: 0,
  inFlight: 0,
  latencyMs: { p50: 40, p95: 120, p99: 180, samples: 10 },
  health: health(status),
});

/** A stats snapshot as the pool reports it, with the parts a test cares about replaced. */
function stats(overrides: Partial<PoolStats> = {}): PoolStats {
  return {
    uptimeMs: 1_000,
    buildTimingsMs: { openai: 200, total: 201 },
    services: { openai: service('healthy'), supabase: service('unknown', false) },
    otherHealth: {},
    connections: {
      opened: 2,
      tlsHandshakes: 2,
      tlsSessionsResumed: 1,
      connectErrors: 0,
      perOrigin: {
        'https://api.openai.com': { connected: 2, free: 2, pending: 0, running: 0, queued: 0 },
      },
      draining: 0,
      warmReuseRatio: 0.8,
      maxPerOrigin: 17,
      replacedAfterAbort: 0,
      keepAliveTimeoutMs: 60_000,
      keepWarmRequests: 0,
      lanes: { voice: lane(5, 2, { connected: 2, requests: 8 }), background: lane(10, 0) },
      maxConnectionAgeMs: 3_600_000,
    },
    caches: {},
    components: {},
    closed: false,
    ...overrides,
  };
}

describe('describePoolStats', () => {
  it('speaks health, open connections, reuse and latency in plain sentences', () => {
    expect(describePoolStats(stats())).toBe(
      'All services are healthy; 2 connections are open (2 for calls, 0 for background work) and 80 percent of requests reused a warm one. ' +
        "OpenAI's 95th-percentile latency is 120 milliseconds.",
    );
  });

  it('names what is down, having trouble or not checked yet, and what is fine', () => {
    const text = describePoolStats(
      stats({
        services: { openai: service('down'), supabase: service('degraded') },
        otherHealth: { memory: health('unknown') },
      }),
    );
    expect(text).toMatch(/^OpenAI is down, Supabase is having trouble, /);
    expect(text).toContain('the memory store has not been checked yet');
    const mixed = describePoolStats(
      stats({ services: { openai: service('healthy'), supabase: service('unknown') } }),
    );
    expect(mixed).toMatch(/^Supabase has not been checked yet, OpenAI is fine;/);
  });

  it('handles one connection and no requests yet', () => {
    const quiet = stats({
      connections: {
        ...stats().connections,
        perOrigin: { 'http://x': { connected: 1, free: 1, pending: 0, running: 0, queued: 0 } },
        warmReuseRatio: null,
        lanes: { voice: lane(5, 2, { connected: 1 }), background: lane(10, 0) },
      },
      services: {
        openai: {
          ...service('healthy'),
          latencyMs: { p50: null, p95: null, p99: null, samples: 0 },
        },
        supabase: service('unknown', false),
      },
    });
    expect(describePoolStats(quiet)).toBe(
      'All services are healthy; 1 connection is open (1 for calls, 0 for background work) and no requests have been made yet.',
    );
  });

  it('says when requests wait for their lane, and when background requests gave up waiting', () => {
    const busy = stats({
      connections: {
        ...stats().connections,
        lanes: {
          voice: lane(5, 2, { connected: 7, running: 7, waiting: 1 }),
          background: lane(10, 0, { connected: 10, running: 10, waiting: 4, acquireTimeouts: 9 }),
        },
      },
    });
    expect(describePoolStats(busy)).toContain(
      '1 call request is waiting for a connection, 4 background requests are waiting for a ' +
        'connection and 9 background requests gave up waiting and will be retried.',
    );
    const calm = describePoolStats(stats());
    expect(calm).not.toMatch(/waiting/);
  });

  it('says when calls used burst connections and when connections were replaced for age', () => {
    const upkept = stats({
      connections: {
        ...stats().connections,
        lanes: {
          voice: lane(5, 2, { overflowRequests: 3, recycled: 2 }),
          background: lane(10, 0, { recycled: 1 }),
        },
      },
    });
    expect(describePoolStats(upkept)).toContain(
      '3 call requests used an extra burst connection and 3 connections were replaced for age.',
    );
    const one = stats({
      connections: {
        ...stats().connections,
        lanes: { voice: lane(5, 2, { recycled: 1 }), background: lane(10, 0) },
      },
    });
    expect(describePoolStats(one)).toContain(' 1 connection was replaced for age.');
    expect(describePoolStats(one)).not.toMatch(/burst/);
    expect(describePoolStats(stats())).not.toMatch(/burst|replaced/);
  });

  it('never speaks an error message, so never a secret in one', () => {
    const leaky = stats({
      services: {
        openai: { ...service('down'), health: health('down', `bad key ${TEST_SECRETS.openai}`) },
        supabase: service('unknown', false),
      },
    });
    const text = describePoolStats(leaky);
    for (const secret of Object.values(TEST_SECRETS)) expect(text).not.toContain(secret);
    expect(text).not.toContain('bad key');
  });
});

describe('describeCleanup', () => {
  it('says what was done, in singular or plural', () => {
    const report = {
      at: new Date().toISOString(),
      idleConnectionsClosed: 1,
      requestsLeftRunning: 0,
      cachesPruned: 0,
      errorWindowsReset: 2,
    };
    expect(describeCleanup(report)).toBe(
      'I closed 1 idle connection and reset the error counters.',
    );
    expect(
      describeCleanup({
        ...report,
        idleConnectionsClosed: 3,
        cachesPruned: 2,
        requestsLeftRunning: 2,
      }),
    ).toBe(
      'I closed 3 idle connections, pruned 2 caches and reset the error counters. ' +
        '2 requests were still running and will finish normally.',
    );
  });
});

describe('pool tools on a live pool', () => {
  let server: OpenAIServer;
  let pool: ConnectionPool;
  beforeAll(async () => {
    server = await startOpenAIServer();
    pool = await ConnectionPool.create(
      testConfig({
        OPENAI_BASE_URL: server.baseURL,
        LIVEKIT_API_KEY: TEST_SECRETS.livekitKey,
        LIVEKIT_API_SECRET: TEST_SECRETS.livekitSecret,
      }),
    );
  });
  afterAll(async () => {
    await pool?.close();
    await server?.close();
  });

  it('reports the live pool in sentences without a secret', async () => {
    const { getConnectionPoolStats } = createPoolTools(pool);
    const text = await getConnectionPoolStats.execute({}, toolOptions());
    expect(text).toMatch(
      /^All services are healthy; 2 connections are open \(2 for calls, 0 for background work\) and \d+ percent of requests reused a warm one\. OpenAI's 95th-percentile latency is \d+ milliseconds\.$/,
    );
    for (const secret of Object.values(TEST_SECRETS)) expect(text).not.toContain(secret);
  });

  it('runs one cleanup per interval, however often it is asked', async () => {
    let now = 1_000_000;
    const cleanup = vi.spyOn(pool, 'cleanup');
    const { cleanupConnectionPool } = createPoolTools(pool, {
      cleanupIntervalMs: 30_000,
      now: () => now,
    });
    expect(await cleanupConnectionPool.execute({}, toolOptions('call_1'))).toMatch(
      /^I closed \d+ idle connections? and reset the error counters\.$/,
    );
    now += 5_000;
    expect(await cleanupConnectionPool.execute({}, toolOptions('call_2'))).toBe(
      'I cleaned up the pool moments ago, so there is nothing to do yet; try again in 25 seconds.',
    );
    expect(cleanup).toHaveBeenCalledTimes(1);
    now += 25_000;
    await cleanupConnectionPool.execute({}, toolOptions('call_3'));
    expect(cleanup).toHaveBeenCalledTimes(2);
    cleanup.mockRestore();
  });
});
