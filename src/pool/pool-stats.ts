/** The JSON-safe shapes the pool reports. No field ever holds a key, token or credential-bearing URL. */
import type { ConnectionCounts } from './connection-accounting.js';
import type { OriginCounts } from './dispatcher.js';
import type { ServiceHealth } from './health-monitor.js';
import type { ServiceMetricsSnapshot } from './service-metrics.js';

export interface ServiceStats extends ServiceMetricsSnapshot {
  configured: boolean;
  health: ServiceHealth;
}

export interface CleanupReport {
  at: string;
  idleConnectionsClosed: number;
  /** Requests that were running at cleanup: they finish on the old connections, never aborted. */
  requestsLeftRunning: number;
  cachesPruned: number;
  errorWindowsReset: number;
}

export interface PoolStats {
  uptimeMs: number;
  buildTimingsMs: Record<string, number>;
  /**
   * Every service registered with the pool, by name. OpenAI and Supabase are always there (the
   * pool registers both; Supabase as `configured: false` when it is not set up).
   */
  services: Record<string, ServiceStats> & { openai: ServiceStats; supabase: ServiceStats };
  /** Health of what other parts asked the pool to check (the memory store, the extraction). */
  otherHealth: Record<string, ServiceHealth>;
  connections: ConnectionCounts & {
    perOrigin: Record<string, OriginCounts>;
    /** Dispatchers retired by cleanup, still finishing their requests. */
    draining: number;
    /** Share of requests that did not have to open a connection. */
    warmReuseRatio: number | null;
    maxPerOrigin: number;
    /** Warm-up requests sent to replace a connection an aborted request took down. */
    replacedAfterAbort: number;
    keepAliveTimeoutMs: number;
    /** Cheap requests sent to keep idle connections open (none while calls keep them busy). */
    keepWarmRequests: number;
  };
  caches: Record<string, { size: number }>;
  /** Figures of the parts built on the pool: memory processing, greetings. */
  components: Record<string, unknown>;
  lastCleanup?: CleanupReport | undefined;
  closed: boolean;
}
