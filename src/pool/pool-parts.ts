/**
 * The parts a connection pool is made of, wired to each other: two lanes of dispatchers (rotated
 * by cleanup and recycling) and their one connection accounting, the services registered on
 * them, their health monitor, keep-warm, abort recovery and recycler, and the components' caches
 * and figures.
 */
import type { Config } from '../config/config.js';
import { AbortRecovery } from './abort-recovery.js';
import { ConnectionAccounting } from './connection-accounting.js';
import { ConnectionRecycler } from './connection-recycler.js';
import { type DispatcherSettings, createConnector } from './dispatcher.js';
import { type HealthCheck, HealthMonitor, type ServiceHealth } from './health-monitor.js';
import { KeepWarm } from './keep-warm.js';
import { openaiService } from './openai-service.js';
import { PoolComponents } from './pool-components.js';
import { LANES, PoolLanes } from './pool-lanes.js';
import type { PoolService } from './pool-service.js';
import { ServiceRegistry } from './service-registry.js';
import { supabaseService } from './supabase-service.js';

/** Registered by every pool, first and in this order (Supabase even when not configured). */
export const DEFAULT_SERVICES: readonly PoolService<unknown>[] = [openaiService, supabaseService];

export interface PoolParts {
  readonly settings: DispatcherSettings;
  readonly lanes: PoolLanes;
  readonly recycler: ConnectionRecycler;
  readonly accounting: ConnectionAccounting;
  readonly abortRecovery: AbortRecovery;
  readonly services: ServiceRegistry;
  readonly health: HealthMonitor;
  readonly keepWarm: KeepWarm;
  readonly components: PoolComponents;
}

/** What the pool chose beyond its configuration. */
export interface PartChoices {
  tls: DispatcherSettings['tls'];
  /** Registered after the default services. */
  services: readonly PoolService<unknown>[];
  /** Checked beside the services' own checks. */
  healthChecks: Record<string, HealthCheck>;
  /** Scrubbed from recorded health errors. */
  secrets: readonly string[];
}

/** What the parts call back into the pool's lifecycle for. */
export interface PartHooks {
  closed(): boolean;
  /** A service failed its checks `failures` times in a row (at 3, 6, 12, …). */
  persistentFailure(service: string, failures: number): void;
  healthChanged(service: string, health: ServiceHealth): void;
}

/**
 * Builds the parts and registers the services (their clients built, no I/O yet) and health
 * checks. Nothing runs until the pool starts the health monitor and keep-warm.
 *
 * @param config - the `pool` section and the services' settings
 * @param choices - TLS, extra services, extra health checks, secrets
 * @param hooks - the pool's side of rebuilds, health changes and closing
 * @returns the wired parts
 * @throws {@link Error} when two services share a name
 */
export function assembleParts(config: Config, choices: PartChoices, hooks: PartHooks): PoolParts {
  const pool = config.pool;
  const settings: DispatcherSettings = {
    connectionsPerOrigin: pool.connectionsPerOrigin,
    keepAliveTimeoutMs: pool.keepAliveTimeoutMs,
    connectTimeoutMs: pool.connectTimeoutMs,
    tls: choices.tls,
  };
  const connector = createConnector(settings);
  const lanes = new PoolLanes(settings, connector, pool);
  const abortRecovery = new AbortRecovery({
    runningRequests: () => LANES.reduce((n, l) => n + lanes.rotation(l).runningRequests(), 0),
    closed: hooks.closed,
  });
  const services = new ServiceRegistry({
    config,
    dispatcher: (lane) => lanes.current(lane),
    pingTimeoutMs: pool.initTimeoutMs,
    abortRecovery,
  });
  const health = new HealthMonitor({
    intervalMs: pool.healthCheckIntervalMs,
    timeoutMs: pool.initTimeoutMs,
    secrets: choices.secrets,
    onPersistentFailure: hooks.persistentFailure,
    onChange: hooks.healthChanged,
  });
  for (const service of [...DEFAULT_SERVICES, ...choices.services]) {
    services.register(service);
    if (service.isConfigured(config))
      health.add(service.name, (signal) => services.check(service.name, signal));
  }
  for (const [name, check] of Object.entries(choices.healthChecks)) health.add(name, check);
  const keepWarm = new KeepWarm({
    idleMs: pool.keepWarmMs,
    connections: 2,
    services: () => services.warmable(pool.initTimeoutMs),
  });
  const recycler = new ConnectionRecycler({
    maxAgeMs: pool.maxConnectionAgeMs,
    lanes,
    // Replacements for the lane's warm connections, at once, unless the pool is closing.
    onRecycled: (lane) => {
      if (hooks.closed()) return;
      const onLane = new Set(
        services
          .configured()
          .filter(({ definition }) => (definition.lane ?? 'background') === lane)
          .map(({ name }) => name),
      );
      keepWarm.warmNow((name) => onLane.has(name));
    },
  });
  return {
    settings,
    lanes,
    recycler,
    accounting: new ConnectionAccounting(connector),
    abortRecovery,
    services,
    health,
    keepWarm,
    components: new PoolComponents(),
  };
}
