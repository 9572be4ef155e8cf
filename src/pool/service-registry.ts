/**
 * The services registered with a pool, by name: each one's definition, its current client, its
 * counted fetch and its traffic figures. A service the configuration does not ask for keeps its
 * place (and its zero figures) with no client, so readers of the stats find it either way.
 */
import type { Dispatcher } from 'undici';
import type { Config } from '../config/config.js';
import type { AbortRecovery } from './abort-recovery.js';
import { countedFetch } from './counted-fetch.js';
import type { WarmableService } from './keep-warm.js';
import type { PoolService, ServiceContext } from './pool-service.js';
import type { LaneName } from './pool-stats.js';
import { ServiceMetrics } from './service-metrics.js';

interface Registered {
  readonly definition: PoolService<unknown>;
  readonly configured: boolean;
  /** On the service's own lane. */
  readonly context: ServiceContext;
  /** On the background lane (the same as `context` for a background service). */
  readonly backgroundContext: ServiceContext;
  readonly metrics: ServiceMetrics;
  client?: unknown;
  /** The client on the background lane: health checks, and background work on a voice service. */
  backgroundClient?: unknown;
}

export interface ServiceRegistryOptions {
  config: Config;
  /** A lane's dispatcher now (cleanup and recycling swap it). */
  dispatcher(lane: LaneName): Pick<Dispatcher, 'dispatch'>;
  /**
   * The longest a cheap request on a service's own lane may run, in ms (`POOL_INIT_TIMEOUT_MS`):
   * a ping that hangs then gives its connection back, so it never holds a voice connection for
   * the client's whole request timeout.
   */
  pingTimeoutMs: number;
  /** Replaces the connection an answered, aborted request took down (`replaceAfterAbort`). */
  abortRecovery: AbortRecovery;
}

export class ServiceRegistry {
  readonly #options: ServiceRegistryOptions;
  readonly #services = new Map<string, Registered>();

  /** @param options - the configuration, the lanes, the ping deadline and the abort recovery */
  constructor(options: ServiceRegistryOptions) {
    this.#options = options;
  }

  /**
   * Registers a service and, when the configuration asks for it, builds its client (no I/O).
   *
   * @param definition - the service; its name must be new to this registry
   * @throws {@link Error} when a service of that name is already registered
   */
  register(definition: PoolService<unknown>): void {
    const { name } = definition;
    if (this.#services.has(name)) throw new Error(`service ${name} is already registered`);
    const { config, abortRecovery } = this.#options;
    const metrics = new ServiceMetrics();
    const lane = definition.lane ?? 'background';
    const fetch = countedFetch({
      dispatcher: () => this.#options.dispatcher(lane),
      metrics,
      watchAbort: definition.replaceAfterAbort
        ? (signal) => abortRecovery.watch(signal, () => this.ping(name))
        : undefined,
    });
    const context: ServiceContext = { config, fetch };
    const backgroundContext: ServiceContext =
      lane === 'background'
        ? context
        : {
            config,
            fetch: countedFetch({
              dispatcher: () => this.#options.dispatcher('background'),
              metrics,
            }),
          };
    const entry: Registered = {
      definition,
      configured: definition.isConfigured(config),
      context,
      backgroundContext,
      metrics,
    };
    if (entry.configured) this.#build(entry);
    this.#services.set(name, entry);
  }

  /**
   * @param definition - a registered service
   * @returns its current client (a rebuilt one after repeated failures); undefined when it is
   *   not configured or not registered
   */
  client<Client>(definition: PoolService<Client>): Client | undefined {
    const entry = this.#services.get(definition.name);
    return entry?.definition === definition ? (entry.client as Client | undefined) : undefined;
  }

  /**
   * @param definition - a registered service
   * @returns its current client on the background lane (the same as `client` for a background
   *   service); undefined when it is not configured or not registered
   */
  backgroundClient<Client>(definition: PoolService<Client>): Client | undefined {
    const entry = this.#services.get(definition.name);
    return entry?.definition === definition
      ? (entry.backgroundClient as Client | undefined)
      : undefined;
  }

  /**
   * Sends the service's cheap request on its current client, on its own lane (warm-up,
   * keep-warm, abort recovery: they warm the connections its requests will use). Never
   * unbounded: without a signal it is aborted after `pingTimeoutMs`.
   *
   * @param name - a configured service
   * @param signal - aborts the request (the caller's deadline); absent: `pingTimeoutMs`
   * @throws {@link Error} when the service is not configured, or whatever its request throws
   */
  ping(name: string, signal?: AbortSignal): Promise<unknown> {
    const entry = this.#configured(name);
    const bounded = signal ?? AbortSignal.timeout(this.#options.pingTimeoutMs);
    return entry.definition.ping(entry.client, entry.context, bounded);
  }

  /**
   * The health check: background work, so it always goes through the background lane and never
   * takes (or waits for) a voice connection, in a call or between two turns of one.
   *
   * @param name - a configured service
   * @param signal - aborts the request
   * @throws {@link Error} when the service is not configured, or whatever its request throws
   */
  check(name: string, signal?: AbortSignal): Promise<unknown> {
    const entry = this.#configured(name);
    return entry.definition.ping(entry.backgroundClient, entry.backgroundContext, signal);
  }

  /**
   * Builds the service's client again; the old one is dropped (its requests finish).
   *
   * @param name - any name
   * @returns false when no configured service has that name (nothing rebuilt)
   */
  rebuild(name: string): boolean {
    const entry = this.#services.get(name);
    if (!entry?.configured) return false;
    this.#build(entry);
    return true;
  }

  #build(entry: Registered): void {
    entry.client = entry.definition.build(entry.context);
    entry.backgroundClient =
      entry.backgroundContext === entry.context
        ? entry.client
        : entry.definition.build(entry.backgroundContext);
  }

  /**
   * @param name - a registered service, configured or not
   * @returns its counted fetch
   * @throws {@link Error} when no service of that name is registered
   */
  fetchFor(name: string): typeof fetch {
    const entry = this.#services.get(name);
    if (!entry) throw new Error(`no service ${name} is registered with the pool`);
    return entry.context.fetch;
  }

  /** @returns every registered service's name, whether it is configured, and its figures */
  list(): { name: string; configured: boolean; metrics: ServiceMetrics }[] {
    return [...this.#services.values()].map(({ definition, configured, metrics }) => ({
      name: definition.name,
      configured,
      metrics,
    }));
  }

  /** @returns the configured services with their definitions (for health and keep-warm) */
  configured(): { name: string; definition: PoolService<unknown>; metrics: ServiceMetrics }[] {
    return [...this.#services.values()]
      .filter((entry) => entry.configured)
      .map(({ definition, metrics }) => ({ name: definition.name, definition, metrics }));
  }

  /**
   * The configured services as keep-warm sees them.
   *
   * @param timeoutMs - each keep-warm request's deadline
   * @returns one per configured service, read live
   */
  warmable(timeoutMs: number): WarmableService[] {
    return this.configured().map(({ name, definition, metrics }) => ({
      name,
      connections: definition.keepWarmConnections,
      warm: () => this.ping(name, AbortSignal.timeout(timeoutMs)),
      inFlight: () => metrics.inFlight,
      idleForMs: (now: number) => now - metrics.lastActiveAt,
    }));
  }

  /** @returns true when a service (configured or not) of that name is registered */
  has(name: string): boolean {
    return this.#services.has(name);
  }

  #configured(name: string): Registered {
    const entry = this.#services.get(name);
    if (!entry?.configured) throw new Error(`service ${name} is not configured`);
    return entry;
  }
}
