/** `pool.stats()` assembled from what each part of the pool counts. */
import { describeError } from '../lib/redact.js';
import type { ServiceHealth } from './health-monitor.js';
import type { PoolParts } from './pool-parts.js';
import type { CleanupReport, PoolStats, ServiceStats } from './pool-stats.js';

/** What the pool's lifecycle holds itself, beside its parts. */
export interface PoolState {
  createdAt: number;
  buildTimingsMs: Record<string, number>;
  lastCleanup: CleanupReport | undefined;
  closed: boolean;
  /** Scrubbed from the last connect error (health errors are scrubbed when recorded). */
  secrets: readonly string[];
}

const UNCHECKED: ServiceHealth = { status: 'unknown', consecutiveFailures: 0, rebuilds: 0 };

/**
 * @param parts - the pool's parts
 * @param state - the pool's own figures
 * @returns JSON-safe stats: `services` holds every registered service, `otherHealth` the health
 *   of everything else the monitor checks
 */
export function collectStats(parts: PoolParts, state: PoolState): PoolStats {
  const connections = parts.accounting.counts();
  const health = parts.health.snapshot();
  const services: Record<string, ServiceStats> = {};
  let requests = 0;
  for (const { name, configured, metrics } of parts.services.list()) {
    services[name] = {
      configured,
      ...metrics.snapshot(),
      health: health[name] ?? { ...UNCHECKED },
    };
    requests += metrics.requests;
  }
  return {
    uptimeMs: Date.now() - state.createdAt,
    buildTimingsMs: { ...state.buildTimingsMs },
    // Every pool registers both default services, whatever the configuration says.
    services: services as PoolStats['services'],
    otherHealth: Object.fromEntries(
      Object.entries(health).filter(([name]) => !Object.hasOwn(services, name)),
    ),
    connections: {
      ...connections,
      lastConnectError:
        connections.lastConnectError && describeError(connections.lastConnectError, state.secrets),
      perOrigin: parts.lanes.perOrigin(),
      draining: parts.lanes.draining,
      // A request that did not open a connection reused a warm one.
      warmReuseRatio:
        requests === 0
          ? null
          : Math.max(0, Math.round((1 - connections.opened / requests) * 1000) / 1000),
      maxPerOrigin: parts.settings.connectionsPerOrigin,
      replacedAfterAbort: parts.abortRecovery.replaced,
      keepAliveTimeoutMs: parts.settings.keepAliveTimeoutMs,
      keepWarmRequests: parts.keepWarm.requests,
      lanes: parts.lanes.stats(),
      maxConnectionAgeMs: parts.recycler.maxAgeMs,
    },
    caches: parts.components.cacheSizes(),
    components: parts.components.figures(),
    lastCleanup: state.lastCleanup,
    closed: state.closed,
  };
}
