/** The JSON-safe shapes the pool reports. No field ever holds a key, token or credential-bearing URL. */
import type { ConnectionCounts } from './connection-accounting.js';
import type { OriginCounts } from './dispatcher.js';
import type { ServiceHealth } from './health-monitor.js';
import type { ServiceMetricsSnapshot } from './service-metrics.js';

export interface ServiceStats extends ServiceMetricsSnapshot {
  configured: boolean;
  health: ServiceHealth;
}

/** Which budget a request draws its connection from (see docs/connection-pool.md, "Lanes"). */
export type LaneName = 'voice' | 'background';

/**
 * One lane's connections and waits, all origins together. `pool.stats().connections.lanes`
 * holds one per lane: `voice` (the session's STT, LLM and TTS, and the cheap requests that keep
 * them warm: the build's warm-up, keep-warm, abort recovery) and `background` (memory
 * extraction, greeting preparation, supabase-js and the memory store on it, every health check).
 */
export interface LaneStats {
  /** Connections per origin the lane keeps (voice: its base; background: the rest of the cap). */
  base: number;
  /** Extra connections per origin a burst may open, closed once idle (background: 0). */
  overflow: number;
  /** Connections open now. */
  connected: number;
  /** Requests holding a connection now. */
  running: number;
  /** Requests waiting now for one of the lane's connections. */
  waiting: number;
  /** Requests sent through the lane, in all. */
  requests: number;
  /** Requests that went out on an overflow connection. */
  overflowRequests: number;
  /** Requests that had to wait for a connection (all of the lane's were busy). */
  waited: number;
  /** The longest wait for a connection, in ms (0: none waited). */
  maxWaitMs: number;
  /** Requests failed with `PoolAcquireError` after `acquireTimeoutMs` without a connection. */
  acquireTimeouts: number;
  /** How long a request may wait for a connection; null: no bound of its own (the voice lane). */
  acquireTimeoutMs: number | null;
  /**
   * Connections recycled for age (`POOL_MAX_CONNECTION_AGE_MS`), in all: the idle ones closed at
   * once plus the busy ones (one per request running then) left to close when their request is
   * done, never cut.
   */
  recycled: number;
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
    /** Each lane's budget, use and waits: the voice path never waits behind background work. */
    lanes: Record<LaneName, LaneStats>;
    /** Idle connections older than this are closed (and replaced where kept warm); 0: never. */
    maxConnectionAgeMs: number;
  };
  caches: Record<string, { size: number }>;
  /** Figures of the parts built on the pool: memory processing, greetings. */
  components: Record<string, unknown>;
  lastCleanup?: CleanupReport | undefined;
  closed: boolean;
}
