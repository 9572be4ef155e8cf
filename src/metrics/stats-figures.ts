/**
 * One `pool.stats()` snapshot → the figures a job process reports: counters as totals since the
 * process started (the reporter turns them into increases) and gauges as they are now. The
 * voice answer (`describePoolStats`) reads the same snapshot, with the same helpers.
 */
import type { GreetingAudioStats } from '../greeting/greeting-audio-service.js';
import type { GreetingCacheStats } from '../greeting/greeting-cache.js';
import type { MemoryStats } from '../memory/processor/memory-stats.js';
import type { PoolStats } from '../pool/pool-stats.js';
import { openConnections } from '../tools/pool-summary.js';
import type { ProcessMetricName } from './catalog.js';
import type { Labels } from './process-report.js';

export interface Figure {
  name: ProcessMetricName;
  labels: Labels;
  value: number;
}

export interface StatsFigures {
  /** Totals since the job process started. */
  totals: Figure[];
  gauges: Figure[];
}

type GreetingFigures = Partial<GreetingCacheStats> & {
  bySource?: Record<string, number>;
  audio?: GreetingAudioStats;
};

/**
 * @param stats one snapshot of the job process's pool
 * @returns its totals and gauges, labelled as the catalogue says
 */
export function figuresOf(stats: PoolStats): StatsFigures {
  const totals: Figure[] = [];
  const gauges: Figure[] = [];
  const total = (name: ProcessMetricName, value: number | undefined, labels: Labels = {}) => {
    if (typeof value === 'number') totals.push({ name, labels, value });
  };
  const now = (name: ProcessMetricName, value: number | undefined, labels: Labels = {}) => {
    if (typeof value === 'number') gauges.push({ name, labels, value });
  };

  for (const [service, s] of Object.entries(stats.services)) {
    if (!s.configured) continue;
    total('pool_requests', s.requests, { service });
    total('pool_request_errors', s.errors, { service });
    now('pool_requests_in_flight', s.inFlight, { service });
    now('pool_service_health', 1, { service, status: s.health.status });
  }
  for (const [service, health] of Object.entries(stats.otherHealth))
    now('pool_service_health', 1, { service, status: health.status });

  const c = stats.connections;
  total('pool_connections_opened', c.opened);
  total('pool_tls_handshakes', c.tlsHandshakes);
  total('pool_tls_sessions_resumed', c.tlsSessionsResumed);
  total('pool_connect_errors', c.connectErrors);
  for (const [origin, counts] of Object.entries(c.perOrigin))
    now('pool_connections_open', counts.connected, { origin });
  if (Object.keys(c.perOrigin).length === 0) now('pool_connections_open', openConnections(stats));

  // Lanes (voice, background) arrived with issue 20: absent from an older pool's stats.
  for (const [lane, l] of Object.entries(c.lanes ?? {})) {
    now('pool_lane_connections', l.connected, { lane });
    now('pool_lane_running', l.running, { lane });
    now('pool_lane_waiting', l.waiting, { lane });
    total('pool_lane_requests', l.requests, { lane });
    total('pool_lane_overflow_requests', l.overflowRequests, { lane });
    total('pool_lane_waits', l.waited, { lane });
    total('pool_lane_acquire_timeouts', l.acquireTimeouts, { lane });
    total('pool_lane_recycled', l.recycled, { lane });
    now('pool_lane_max_wait', l.maxWaitMs, { lane });
    now('pool_lane_budget', l.base, { lane, budget: 'base' });
    now('pool_lane_budget', l.overflow, { lane, budget: 'overflow' });
    // null: the lane waits as long as the call does (no bound of its own): no series.
    now('pool_lane_acquire_timeout', l.acquireTimeoutMs ?? undefined, { lane });
  }

  const memory = stats.components['memory'] as Partial<MemoryStats> | undefined;
  if (memory) {
    now('memory_queue_depth', memory.queued);
    now('memory_outbox_depth', memory.outboxDepth);
    now('memory_pending_batches', memory.pendingBatches);
    now('memory_extraction_latency_p95', memory.extractionLatencyMs?.p95 ?? undefined);
    total('memory_turns_processed', memory.turnsProcessed);
    total('memory_batches_stored', memory.batchesStored);
    total('memory_memories_stored', memory.stored);
    total('memory_retries', memory.retried);
    total('memory_dead_letters', memory.deadLettered);
    for (const [kind, count] of Object.entries(memory.failures ?? {}))
      total('memory_failures', count, { kind });
  }

  const greetings = stats.components['greetings'] as GreetingFigures | undefined;
  if (greetings) {
    total('greeting_lookups', greetings.hits, { result: 'hit', level: 'process' });
    total('greeting_lookups', greetings.storeHits, { result: 'hit', level: 'store' });
    total('greeting_lookups', greetings.misses, { result: 'miss', level: 'store' });
    for (const [source, count] of Object.entries(greetings.bySource ?? {}))
      total('greetings', count, { source });
    total('greeting_audio', greetings.audio?.hits, { result: 'hit' });
    total('greeting_audio', greetings.audio?.misses, { result: 'miss' });
  }
  return { totals, gauges };
}

/**
 * @param figure a figure
 * @returns a key naming its series (name and sorted labels)
 */
export function seriesKey(figure: { name: string; labels: Labels }): string {
  const labels = Object.entries(figure.labels).sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify([figure.name, labels]);
}
