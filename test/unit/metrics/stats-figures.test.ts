/**
 * One `pool.stats()` snapshot → the figures a job process reports, and the checks a report passes
 * before the main process applies it.
 */
import { describe, expect, it } from 'vitest';
import { PROCESS_METRICS } from '../../../src/metrics/catalog.js';
import {
  MAX_REPORT_BYTES,
  MalformedReport,
  parseReport,
} from '../../../src/metrics/process-report.js';
import { figuresOf } from '../../../src/metrics/stats-figures.js';
import type { PoolStats } from '../../../src/pool/pool-stats.js';

const lane = (connected: number, requests: number, acquireTimeoutMs: number | null = null) => ({
  base: 5,
  overflow: 2,
  connected,
  running: 1,
  waiting: 0,
  requests,
  overflowRequests: 0,
  waited: 2,
  maxWaitMs: 3,
  acquireTimeouts: 1,
  acquireTimeoutMs,
  recycled: 4,
});

const stats = {
  services: {
    openai: {
      configured: true,
      requests: 10,
      errors: 1,
      inFlight: 2,
      health: { status: 'healthy' },
    },
    supabase: {
      configured: false,
      requests: 0,
      errors: 0,
      inFlight: 0,
      health: { status: 'unknown' },
    },
  },
  otherHealth: { memory: { status: 'degraded' } },
  connections: {
    opened: 3,
    tlsHandshakes: 3,
    tlsSessionsResumed: 1,
    connectErrors: 0,
    perOrigin: {
      'https://api.openai.com': { connected: 3, free: 1, pending: 0, running: 2, queued: 0 },
    },
    lanes: { voice: lane(2, 8), background: lane(1, 2, 15_000) },
  },
  components: {
    memory: {
      queued: 4,
      outboxDepth: 6,
      pendingBatches: 1,
      turnsProcessed: 9,
      batchesStored: 2,
      stored: 5,
      retried: 1,
      deadLettered: 0,
      failures: { store: 1, extraction: 0 },
      extractionLatencyMs: { p95: 800 },
    },
    greetings: {
      hits: 2,
      storeHits: 1,
      misses: 3,
      bySource: { cache: 3, 'new-caller': 2 },
      audio: { hits: 4, misses: 1 },
    },
  },
} as unknown as PoolStats;

const find = (list: { name: string; labels: object; value: number }[], name: string, labels = {}) =>
  list.find((f) => f.name === name && JSON.stringify(f.labels) === JSON.stringify(labels))?.value;

describe('figures of a pool snapshot', () => {
  const { totals, gauges } = figuresOf(stats);

  it('labels requests and health by service, skipping an unconfigured one', () => {
    expect(find(totals, 'pool_requests', { service: 'openai' })).toBe(10);
    expect(find(totals, 'pool_requests', { service: 'supabase' })).toBeUndefined();
    // Reuse is requests − opened, computed by dashboards from the two real counters.
    expect(totals.some((f) => (f.name as string) === 'pool_requests_reused')).toBe(false);
    expect(find(gauges, 'pool_service_health', { service: 'memory', status: 'degraded' })).toBe(1);
    expect(find(gauges, 'pool_connections_open', { origin: 'https://api.openai.com' })).toBe(3);
  });

  it('exports each lane, labelled lane=voice|background', () => {
    expect(find(gauges, 'pool_lane_connections', { lane: 'voice' })).toBe(2);
    expect(find(totals, 'pool_lane_requests', { lane: 'background' })).toBe(2);
    expect(find(totals, 'pool_lane_acquire_timeouts', { lane: 'voice' })).toBe(1);
    expect(find(totals, 'pool_lane_recycled', { lane: 'voice' })).toBe(4);
  });

  it("exports each lane's longest wait, budgets and acquire timeout (none when unbounded)", () => {
    expect(find(gauges, 'pool_lane_max_wait', { lane: 'voice' })).toBe(3);
    expect(find(gauges, 'pool_lane_budget', { lane: 'voice', budget: 'base' })).toBe(5);
    expect(find(gauges, 'pool_lane_budget', { lane: 'background', budget: 'overflow' })).toBe(2);
    expect(find(gauges, 'pool_lane_acquire_timeout', { lane: 'background' })).toBe(15_000);
    expect(find(gauges, 'pool_lane_acquire_timeout', { lane: 'voice' })).toBeUndefined();
  });

  it('exports memory and greeting figures by kind, result, level and source', () => {
    expect(find(gauges, 'memory_queue_depth')).toBe(4);
    expect(find(gauges, 'memory_outbox_depth')).toBe(6);
    expect(find(totals, 'memory_failures', { kind: 'store' })).toBe(1);
    expect(find(totals, 'greeting_lookups', { result: 'hit', level: 'store' })).toBe(1);
    expect(find(totals, 'greetings', { source: 'new-caller' })).toBe(2);
    expect(find(totals, 'greeting_audio', { result: 'miss' })).toBe(1);
  });

  it('uses only names and labels of the catalogue', () => {
    for (const figure of [...totals, ...gauges]) {
      const spec = PROCESS_METRICS[figure.name];
      expect(
        Object.keys(figure.labels).every((k) => (spec.labels as readonly string[]).includes(k)),
      ).toBe(true);
    }
  });
});

describe('a report line', () => {
  const base = {
    pid: 7,
    state: 'idle',
    poolBuilt: true,
    counters: [],
    gauges: [],
    observations: [],
  };

  it('is taken when it fits the catalogue', () => {
    const report = parseReport(
      JSON.stringify({ ...base, gauges: [{ name: 'memory_queue_depth', labels: {}, value: 2 }] }),
    );
    expect(report.gauges).toEqual([{ name: 'memory_queue_depth', labels: {}, value: 2 }]);
  });

  it('measures its length in bytes, not characters', () => {
    // 100 000 three-byte characters: under the limit in characters, over it in bytes.
    const wide = JSON.stringify({ ...base, pad: '€'.repeat(100_000) });
    expect(wide.length).toBeLessThan(MAX_REPORT_BYTES);
    expect(() => parseReport(wide)).toThrow('report too long');
  });

  it.each([
    ['not JSON', '{'],
    ['a bad state', JSON.stringify({ ...base, state: 'sleeping' })],
    [
      'a gauge sent as a counter',
      JSON.stringify({ ...base, counters: [{ name: 'memory_queue_depth', labels: {}, value: 1 }] }),
    ],
    [
      'a non-finite value',
      JSON.stringify({
        ...base,
        gauges: [{ name: 'memory_queue_depth', labels: {}, value: 'NaN' }],
      }),
    ],
    [
      'an inherited name',
      JSON.stringify({ ...base, counters: [{ name: 'toString', labels: {}, value: 1 }] }),
    ],
  ])('is refused for %s', (_why, line) => {
    expect(() => parseReport(line)).toThrow(MalformedReport);
  });
});
