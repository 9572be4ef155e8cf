/**
 * One per job process: keep-alive dispatchers in two lanes (voice, background) shared by every
 * service registered with it (the OpenAI client, supabase-js), with the accounting, health and
 * cleanup an operator needs. Built in `prewarm`. This class is the lifecycle; the parts it
 * composes (pool-parts.ts) do the work, build-steps.ts warms them up, pool-teardown.ts ends them.
 */
import { log } from '@livekit/agents';
import type { SupabaseClient } from '@supabase/supabase-js';
import type OpenAI from 'openai';
import type { Config } from '../config/config.js';
import { secretsOf } from '../config/secrets.js';
import type { Logger } from '../lib/logger.js';
import { warmUp } from './build-steps.js';
import { collectStats } from './collect-stats.js';
import type { DispatcherSettings } from './dispatcher.js';
import type { HealthCheck, ServiceHealth } from './health-monitor.js';
import type { LaneDispatcher } from './lane-dispatcher.js';
import { backgroundClient, openaiService } from './openai-service.js';
import type { PrunableCache, StatsSource } from './pool-components.js';
import { type PoolParts, assembleParts } from './pool-parts.js';
import type { PoolService } from './pool-service.js';
import type { CleanupReport, LaneName, PoolStats } from './pool-stats.js';
import { cleanUpParts, closeParts } from './pool-teardown.js';
import type { PooledStore } from './pooled-store.js';
import { supabaseService } from './supabase-service.js';

export type { PrunableCache, StatsSource } from './pool-components.js';
export type { PooledStore } from './pooled-store.js';

export interface ConnectionPoolOptions {
  /** Where the pool logs; default: the framework's logger, as component `connection-pool`. */
  logger?: Logger | undefined;
  /** Send each service's cheap request while building, so the first turn finds a warm connection. */
  warmUp?: boolean;
  /** Extra TLS options for the dispatcher (a private CA in tests and benchmarks). */
  tls?: DispatcherSettings['tls'];
  /** More services to carry, after OpenAI and Supabase (which every pool registers). */
  services?: readonly PoolService<unknown>[];
  /** More health checks (e.g. a store's ping), reported in `stats().otherHealth`. */
  healthChecks?: Record<string, HealthCheck>;
  /**
   * Builds the memory store on this pool (Supabase: on the pool's client; Postgres: the driver's
   * own small pool). Warmed up in parallel with the services; closed with the pool.
   */
  memoryStore?: (pool: ConnectionPool) => PooledStore;
}

export class ConnectionPool {
  readonly createdAt = Date.now();
  readonly buildTimingsMs: Record<string, number> = {};
  readonly #config: Config;
  readonly #logger: Logger;
  readonly #secrets: string[];
  readonly #parts: PoolParts;
  #memoryStore?: PooledStore;
  #closing?: Promise<void>;
  #lastCleanup?: CleanupReport;

  private constructor(config: Config, options: ConnectionPoolOptions) {
    this.#config = config;
    this.#logger = options.logger ?? log().child({ component: 'connection-pool' });
    this.#secrets = secretsOf(config);
    const choices = {
      tls: options.tls,
      services: options.services ?? [],
      healthChecks: options.healthChecks ?? {},
      secrets: this.#secrets,
    };
    this.#parts = assembleParts(config, choices, {
      closed: () => this.closed,
      persistentFailure: (service, failures) => this.#rebuild(service, failures),
      healthChanged: (service, { status, lastError: error }) =>
        this.#logger.info({ service, status, error }, 'service health changed'),
    });
  }

  /**
   * Builds the dispatcher and every service's client, then warms them up side by side (each
   * service's cheap requests, the memory store's warm-up), each step bounded by
   * `pool.initTimeoutMs`. A slow or failing service never fails the build: it is recorded as
   * unhealthy and checked again by the monitor.
   *
   * @param config - the validated configuration (its `pool` section, the services' settings)
   * @param options - warm-up, TLS, extra services and health checks, the memory store
   * @returns the pool, its health monitor and keep-warm running
   * @throws {@link Error} when two services share a name
   */
  static async create(
    config: Config,
    options: ConnectionPoolOptions = {},
  ): Promise<ConnectionPool> {
    const started = performance.now();
    const pool = new ConnectionPool(config, options);
    const { services, health, keepWarm } = pool.#parts;
    const plan = {
      services,
      health,
      warmUp: options.warmUp ?? true,
      timeoutMs: config.pool.initTimeoutMs,
      memoryStore: options.memoryStore && (() => (pool.#memoryStore = options.memoryStore!(pool))),
    };
    const timings = await warmUp(plan, { logger: pool.#logger, secrets: pool.#secrets });
    Object.assign(pool.buildTimingsMs, timings, { total: Math.round(performance.now() - started) });
    health.start();
    keepWarm.start();
    pool.#parts.recycler.start();
    return pool;
  }

  /**
   * The OpenAI client for the voice plugins: no SDK retries (the framework retries). Read it
   * each time: after repeated failures the pool rebuilds it.
   */
  get openai(): OpenAI {
    const client = this.#parts.services.client(openaiService);
    if (!client) throw new Error('the pool carries no OpenAI client');
    return client;
  }

  /**
   * For background work (memory extraction, greetings): the background lane, with SDK retries
   * and backoff. Its requests never take the voice lane's connections; one that waits longer
   * than `pool.acquireTimeoutMs` for a connection fails with `PoolAcquireError`.
   */
  get openaiBackground(): OpenAI {
    const client = this.#parts.services.backgroundClient(openaiService);
    if (!client) throw new Error('the pool carries no OpenAI client');
    return backgroundClient(client, this.#config);
  }

  /** supabase-js on the pool's dispatcher; undefined when Supabase is not configured. */
  get supabase(): SupabaseClient | undefined {
    return this.#parts.services.client(supabaseService);
  }

  /** The store built by `options.memoryStore`, if any (present even when its warm-up failed). */
  get memoryStore(): PooledStore | undefined {
    return this.#memoryStore;
  }

  /**
   * @param lane - `voice` (the session's requests) or `background` (everything else); default voice
   * @returns the dispatcher that lane's new requests go through now (cleanup and recycling
   *   replace it)
   */
  dispatcher(lane: LaneName = 'voice'): LaneDispatcher {
    return this.#parts.lanes.current(lane);
  }

  /** True from the first `close()` call on. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** The configuration's secrets, for `describeError` wherever the pool's errors are logged. */
  get secrets(): readonly string[] {
    return this.#secrets;
  }

  /**
   * Counts an HTTP service of the caller's own (e.g. a store) under this pool's connections.
   *
   * @param service - a registered service's name (configured or not)
   * @returns Node's fetch, sent through the pool and counted under that service
   * @throws {@link Error} when no service of that name is registered
   */
  fetchFor(service: string): typeof fetch {
    return this.#parts.services.fetchFor(service);
  }

  /**
   * @param name - its key in `stats().caches`
   * @param cache - pruned on `cleanup()`
   */
  registerCache(name: string, cache: PrunableCache): void {
    this.#parts.components.registerCache(name, cache);
  }

  /**
   * Adds a section to `stats().components`.
   *
   * @param name - the section's key
   * @param source - returns JSON-safe figures, never a secret
   */
  registerStats(name: string, source: StatsSource): void {
    this.#parts.components.registerStats(name, source);
  }

  /**
   * @param service - its name in `stats().otherHealth`
   * @param check - a cheap request, bounded by `pool.initTimeoutMs`, run every health interval
   */
  addHealthCheck(service: string, check: HealthCheck): void {
    this.#parts.health.add(service, check);
  }

  /** @returns every health, once each has been checked now */
  checkHealth(): Promise<Record<string, ServiceHealth>> {
    return this.#parts.health.checkAll();
  }

  /** @returns the figures an operator reads: JSON-safe, never a secret */
  stats(): PoolStats {
    return collectStats(this.#parts, {
      createdAt: this.createdAt,
      buildTimingsMs: this.buildTimingsMs,
      lastCleanup: this.#lastCleanup,
      closed: this.closed,
      secrets: this.#secrets,
    });
  }

  /**
   * Closes idle connections, prunes expired cache entries and resets error windows. Requests in
   * flight are never aborted: the old dispatcher is closed gracefully (it finishes what it is
   * running), and new requests go through a fresh one.
   *
   * @returns what was done
   * @throws {@link Error} (as a rejection) once the pool is closed
   */
  async cleanup(): Promise<CleanupReport> {
    if (this.closed) throw new Error('connection pool is closed');
    const report = (this.#lastCleanup = cleanUpParts(this.#parts));
    this.#logger.info(report, 'connection pool cleaned up');
    return report;
  }

  /**
   * Stops the health monitor and keep-warm, waits for requests in flight up to
   * `pool.closeTimeoutMs` (0: no wait, their connections are destroyed at once), then destroys
   * what is left and closes the memory store. Idempotent: every call gets the same promise.
   *
   * @returns settles when everything is closed; never rejects
   */
  close(): Promise<void> {
    this.#closing ??= closeParts(this.#parts, {
      timeoutMs: this.#config.pool.closeTimeoutMs,
      memoryStore: this.#memoryStore,
      logger: this.#logger,
      secrets: this.#secrets,
    });
    return this.#closing;
  }

  /** A client that keeps failing is replaced; whoever reads it from the pool next gets the new one. */
  #rebuild(service: string, failures: number): void {
    if (this.closed || !this.#parts.services.rebuild(service)) return;
    this.#logger.warn({ service, failures }, 'rebuilt client after repeated failures');
  }
}
