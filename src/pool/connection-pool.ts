/**
 * One per job process: a keep-alive dispatcher shared by the OpenAI client and supabase-js,
 * with the accounting, health and cleanup an operator needs. Built in parallel, in `prewarm`.
 */
import { log } from '@livekit/agents';
import type { SupabaseClient } from '@supabase/supabase-js';
import OpenAI from 'openai';
import pTimeout from 'p-timeout';
import type { Agent } from 'undici';
import type { Config } from '../config/config.js';
import { secretsOf } from '../config/secrets.js';
import type { Logger } from '../lib/logger.js';
import { describeError } from '../lib/redact.js';
import { ConnectionAccounting, type Connector } from './connection-accounting.js';
import {
  type DispatcherSettings,
  createConnector,
  createDispatcher,
  originCounts,
  pooledFetch,
} from './dispatcher.js';
import { type HealthCheck, HealthMonitor } from './health-monitor.js';
import { KeepWarm } from './keep-warm.js';
import type { CleanupReport, PoolStats } from './pool-stats.js';
import { ServiceMetrics } from './service-metrics.js';
import { createSupabaseClient } from './supabase-client.js';

/** A cache the pool can prune on cleanup and report on (an lru-cache fits). */
export interface PrunableCache {
  readonly size: number;
  purgeStale(): boolean;
}

export interface ConnectionPoolOptions {
  logger?: Logger | undefined;
  /** Send a cheap request to each service while building, so the first turn finds a warm connection. */
  warmUp?: boolean;
  /** Extra TLS options for the dispatcher (a private CA in tests and benchmarks). */
  tls?: DispatcherSettings['tls'];
  /** Replace or add health checks (e.g. the memory store's ping). */
  healthChecks?: Record<string, HealthCheck>;
  /**
   * Builds the memory store on this pool (Supabase: on the pool's client; Postgres: the driver's
   * own small pool). Warmed up in parallel with the other services; closed with the pool.
   */
  memoryStore?: (pool: ConnectionPool) => PooledStore;
}

/** A store the pool owns: pinged by the health monitor, closed on `close()`. */
export interface PooledStore {
  readonly kind: string;
  ping(): Promise<void>;
  /** Readies what a call's entry uses at once (connections, prepared calls), beyond one ping. */
  warmUp?(): Promise<void>;
  close(): Promise<void>;
}

/** Something that reports its own figures in `pool.stats()` (memory processing, greetings). */
export type StatsSource = () => unknown;

type Service = 'openai' | 'supabase';

export class ConnectionPool {
  readonly createdAt = Date.now();
  readonly buildTimingsMs: Record<string, number> = {};
  readonly #config: Config;
  readonly #logger: Logger;
  readonly #secrets: string[];
  readonly #settings: DispatcherSettings;
  readonly #connector: Connector;
  readonly #accounting: ConnectionAccounting;
  readonly #metrics: Record<Service, ServiceMetrics> = {
    openai: new ServiceMetrics(),
    supabase: new ServiceMetrics(),
  };
  readonly #health: HealthMonitor;
  /** The HTTP services and their cheap request: health-checked, and kept warm while idle. */
  readonly #services = new Map<Service, () => Promise<unknown>>();
  readonly #keepWarm: KeepWarm;
  readonly #caches = new Map<string, PrunableCache>();
  #dispatcher: Agent;
  #draining = new Set<Agent>();
  #openai!: OpenAI;
  #supabase?: SupabaseClient;
  #memoryStore?: PooledStore;
  #replacing = false;
  #replacedAfterAbort = 0;
  readonly #statsSources = new Map<string, StatsSource>();
  #closing?: Promise<void>;
  #lastCleanup?: CleanupReport;

  private constructor(config: Config, options: ConnectionPoolOptions) {
    this.#config = config;
    this.#logger = options.logger ?? log().child({ component: 'connection-pool' });
    this.#secrets = secretsOf(config);
    this.#settings = {
      connectionsPerOrigin: config.pool.connectionsPerOrigin,
      keepAliveTimeoutMs: config.pool.keepAliveTimeoutMs,
      connectTimeoutMs: config.pool.connectTimeoutMs,
      tls: options.tls,
    };
    this.#connector = createConnector(this.#settings);
    this.#accounting = new ConnectionAccounting(this.#connector);
    this.#dispatcher = createDispatcher(this.#settings, this.#connector);
    this.#health = new HealthMonitor({
      intervalMs: config.pool.healthCheckIntervalMs,
      timeoutMs: config.pool.initTimeoutMs,
      secrets: this.#secrets,
      onPersistentFailure: (service, failures) => this.#rebuild(service, failures),
      onChange: (service, health) =>
        this.#logger.info(
          { service, status: health.status, error: health.lastError },
          'service health changed',
        ),
    });
    this.#keepWarm = new KeepWarm({
      idleMs: config.pool.keepWarmMs,
      connections: 2,
      services: () =>
        [...this.#services].map(([name, warm]) => ({
          name,
          warm,
          inFlight: () => this.#metrics[name].inFlight,
          idleForMs: (now: number) => now - this.#metrics[name].lastActiveAt,
        })),
    });
  }

  /** A service reached over the pool: its cheap GET is its health check and its keep-warm. */
  #addService(name: Service, request: HealthCheck): void {
    this.#health.add(name, request);
    this.#services.set(name, () => request(AbortSignal.timeout(this.#config.pool.initTimeoutMs)));
  }

  /**
   * Builds the dispatcher, then the OpenAI and Supabase clients in parallel, each step (client
   * plus warm-up request) bounded by `pool.initTimeoutMs`. A slow or failing service never fails
   * the build: it is recorded as unhealthy and checked again by the monitor.
   */
  static async create(
    config: Config,
    options: ConnectionPoolOptions = {},
  ): Promise<ConnectionPool> {
    const started = performance.now();
    const pool = new ConnectionPool(config, options);
    const warmUp = options.warmUp ?? true;
    // Building the clients does no I/O; the warm-up requests are what run in parallel.
    pool.#openai = pool.#buildOpenAI();
    if (config.supabase) pool.#supabase = pool.#buildSupabase();
    const steps: Record<string, () => Promise<unknown>> = {
      openai: async () => {
        pool.#addService('openai', (signal) => pool.#openai.models.list({ signal }));
        // Two at once, so two connections: a voice turn's TTS request starts while its LLM
        // stream still holds the first one.
        if (warmUp)
          await Promise.all([
            pool.#health.check('openai'),
            pool.#services.get('openai')!().catch(() => undefined), // the check reports failures
          ]);
      },
    };
    if (config.supabase) {
      const supabase = config.supabase;
      steps.supabase = async () => {
        // Never HEAD: undici closes the connection after every HEAD request.
        pool.#addService('supabase', (signal) =>
          pool
            .#fetchFor('supabase')(`${supabase.url}/rest/v1/`, {
              method: 'GET',
              headers: {
                apikey: supabase.serviceRoleKey,
                authorization: `Bearer ${supabase.serviceRoleKey}`,
              },
              signal,
            })
            .then(assertOk),
        );
        if (warmUp) await pool.#health.check('supabase');
      };
    }
    const buildStore = options.memoryStore;
    if (buildStore) {
      steps.memory = async () => {
        const store = buildStore(pool);
        pool.#memoryStore = store;
        pool.#health.add('memory', () => store.ping());
        if (warmUp) await pool.#health.check('memory');
        if (warmUp && store.warmUp) await store.warmUp();
      };
    }
    for (const [service, check] of Object.entries(options.healthChecks ?? {}))
      pool.#health.add(service, check);

    await Promise.all(
      Object.entries(steps).map(async ([name, step]) => {
        const stepStarted = performance.now();
        try {
          await pTimeout(step(), {
            milliseconds: config.pool.initTimeoutMs,
            message: `${name} did not get ready within ${config.pool.initTimeoutMs} ms`,
          });
        } catch (error) {
          pool.#health.record(name, error);
          pool.#logger.warn(
            { service: name, error: describeError(error, pool.#secrets) },
            'pool step failed; continuing',
          );
        } finally {
          pool.buildTimingsMs[name] = Math.round(performance.now() - stepStarted);
        }
      }),
    );
    pool.buildTimingsMs.total = Math.round(performance.now() - started);
    pool.#health.start();
    pool.#keepWarm.start();
    return pool;
  }

  /** For the voice plugins: no SDK retries (the framework retries). */
  get openai(): OpenAI {
    return this.#openai;
  }

  /** For background work (memory extraction): the same dispatcher, with SDK retries and backoff. */
  get openaiBackground(): OpenAI {
    return this.#openai.withOptions({ maxRetries: 2, timeout: this.#config.openai.timeoutMs });
  }

  get supabase(): SupabaseClient | undefined {
    return this.#supabase;
  }

  /** The store built by `options.memoryStore`, if any (present even when its warm-up failed). */
  get memoryStore(): PooledStore | undefined {
    return this.#memoryStore;
  }

  get dispatcher(): Agent {
    return this.#dispatcher;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  get secrets(): readonly string[] {
    return this.#secrets;
  }

  /** Counts an HTTP service of the caller's own (e.g. a store) under this pool's connections. */
  fetchFor(service: Service): typeof fetch {
    return this.#fetchFor(service);
  }

  registerCache(name: string, cache: PrunableCache): void {
    this.#caches.set(name, cache);
  }

  /** Adds a section to `stats()`; the source must return JSON-safe figures, never a secret. */
  registerStats(name: string, source: StatsSource): void {
    this.#statsSources.set(name, source);
  }

  addHealthCheck(service: string, check: HealthCheck): void {
    this.#health.add(service, check);
  }

  checkHealth(): ReturnType<HealthMonitor['checkAll']> {
    return this.#health.checkAll();
  }

  stats(): PoolStats {
    const connections = this.#accounting.counts();
    const requests = this.#metrics.openai.requests + this.#metrics.supabase.requests;
    const health = this.#health.snapshot();
    const service = (name: Service) => ({
      configured: name === 'openai' || this.#supabase !== undefined,
      ...this.#metrics[name].snapshot(),
      health: health[name] ?? { status: 'unknown' as const, consecutiveFailures: 0, rebuilds: 0 },
    });
    const others = Object.fromEntries(
      Object.entries(health).filter(([name]) => name !== 'openai' && name !== 'supabase'),
    );
    return {
      uptimeMs: Date.now() - this.createdAt,
      buildTimingsMs: { ...this.buildTimingsMs },
      services: { openai: service('openai'), supabase: service('supabase') },
      otherHealth: others,
      connections: {
        ...connections,
        lastConnectError:
          connections.lastConnectError &&
          describeError(connections.lastConnectError, this.#secrets),
        perOrigin: originCounts(this.#dispatcher),
        draining: this.#draining.size,
        // A request that did not open a connection reused a warm one.
        warmReuseRatio:
          requests === 0
            ? null
            : Math.max(0, Math.round((1 - connections.opened / requests) * 1000) / 1000),
        maxPerOrigin: this.#settings.connectionsPerOrigin,
        replacedAfterAbort: this.#replacedAfterAbort,
        keepAliveTimeoutMs: this.#settings.keepAliveTimeoutMs,
        keepWarmRequests: this.#keepWarm.requests,
      },
      caches: Object.fromEntries([...this.#caches].map(([name, c]) => [name, { size: c.size }])),
      components: Object.fromEntries(
        [...this.#statsSources].map(([name, source]) => [name, safely(source)]),
      ),
      lastCleanup: this.#lastCleanup,
      closed: this.closed,
    };
  }

  /**
   * Closes idle connections, prunes expired cache entries and resets error windows. Requests in
   * flight are never aborted: the old dispatcher is closed gracefully (it finishes what it is
   * running), and new requests go through a fresh one.
   */
  async cleanup(): Promise<CleanupReport> {
    if (this.closed) throw new Error('connection pool is closed');
    const old = this.#dispatcher;
    const before = originCounts(old);
    const closedConnections = Object.values(before).reduce(
      (n, o) => n + o.connected - o.running,
      0,
    );
    const inFlight = Object.values(before).reduce((n, o) => n + o.running + o.pending, 0);
    this.#dispatcher = createDispatcher(this.#settings, this.#connector);
    this.#draining.add(old);
    void old
      .close()
      .catch(() => undefined)
      .finally(() => this.#draining.delete(old));

    let prunedCaches = 0;
    for (const cache of this.#caches.values()) if (cache.purgeStale()) prunedCaches++;
    for (const metrics of Object.values(this.#metrics)) metrics.resetErrorWindow();

    const report: CleanupReport = {
      at: new Date().toISOString(),
      idleConnectionsClosed: Math.max(0, closedConnections),
      requestsLeftRunning: inFlight,
      cachesPruned: prunedCaches,
      errorWindowsReset: Object.keys(this.#metrics).length,
    };
    this.#lastCleanup = report;
    this.#logger.info(report, 'connection pool cleaned up');
    return report;
  }

  /** Idempotent. Waits for requests in flight up to `pool.closeTimeoutMs`, then tears down. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#health.stop();
    this.#keepWarm.stop();
    const dispatchers = [this.#dispatcher, ...this.#draining];
    const graceful = Promise.all(dispatchers.map((d) => d.close().catch(() => undefined)));
    try {
      await pTimeout(graceful, { milliseconds: this.#config.pool.closeTimeoutMs });
    } catch {
      this.#logger.warn('requests still running at pool close deadline; destroying connections');
      await Promise.all(dispatchers.map((d) => d.destroy().catch(() => undefined)));
    }
    await this.#memoryStore
      ?.close()
      .catch((error: unknown) =>
        this.#logger.warn(
          { error: describeError(error, this.#secrets) },
          'memory store close failed',
        ),
      );
    this.#accounting.close();
  }

  #fetchFor(service: Service): typeof fetch {
    const metrics = this.#metrics[service];
    return pooledFetch(
      () => this.#dispatcher,
      async (run, init) => {
        // An aborted HTTP/1.1 request takes its connection with it (a barge-in aborts the
        // streamed reply): open a replacement now, so the next turn still finds a warm one. A
        // request aborted before any answer came (a timeout against a hanging server) is not a
        // barge-in: replacing it would only stack more connections on a server that answers none.
        let answered = false;
        if (service === 'openai' && init?.signal && !init.signal.aborted) {
          init.signal.addEventListener(
            'abort',
            () => {
              if (answered) this.#replaceAbortedConnection();
            },
            { once: true },
          );
        }
        const started = metrics.started();
        try {
          const response = await run();
          answered = true;
          metrics.finished(started, response.status < 500 && response.status !== 429);
          return response;
        } catch (error) {
          metrics.finished(started, false);
          throw error;
        }
      },
    );
  }

  #replaceAbortedConnection(): void {
    if (this.closed || this.#replacing) return;
    // An abort after its response was read (a caller's cleanup) takes no connection down: only
    // replace when a request is still running on the dispatcher as the abort lands.
    const running = Object.values(originCounts(this.#dispatcher)).some((o) => o.running > 0);
    if (!running) return;
    this.#replacing = true;
    this.#replacedAfterAbort++;
    // Not from inside the abort event: undici is still tearing the old socket down, and a
    // request sent now lands on a connection that goes with it.
    setTimeout(() => {
      if (this.closed) {
        this.#replacing = false;
        return;
      }
      this.#openai.models
        .list()
        .catch(() => undefined) // a service that is down is the health monitor's to report
        .finally(() => (this.#replacing = false));
    }, 0).unref();
  }

  #buildOpenAI(): OpenAI {
    return new OpenAI({
      apiKey: this.#config.openai.apiKey,
      baseURL: this.#config.openai.baseURL,
      // The voice plugins expect a client without SDK retries: the framework retries.
      maxRetries: 0,
      timeout: this.#config.openai.timeoutMs,
      fetch: this.#fetchFor('openai'),
    });
  }

  #buildSupabase(): SupabaseClient {
    return createSupabaseClient(this.#config.supabase!, this.#fetchFor('supabase'));
  }

  /** A client that keeps failing is replaced; whoever reads `pool.openai` next gets the new one. */
  #rebuild(service: string, failures: number): void {
    if (this.closed) return;
    if (service === 'openai') this.#openai = this.#buildOpenAI();
    else if (service === 'supabase' && this.#config.supabase)
      this.#supabase = this.#buildSupabase();
    else return;
    this.#logger.warn({ service, failures }, 'rebuilt client after repeated failures');
  }
}

function safely(source: StatsSource): unknown {
  try {
    return source();
  } catch (error) {
    return { error: error instanceof Error ? error.name : 'unavailable' };
  }
}

async function assertOk(response: Response): Promise<void> {
  // Drain the body so the connection goes back to the pool.
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
}
