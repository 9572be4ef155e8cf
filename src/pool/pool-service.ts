/**
 * What a service tells the pool about itself so the pool can carry it: how to build its client
 * on the pool's counted fetch, its cheap request (health check, warm-up and keep-warm), and how
 * many connections it wants open. The pool holds these by name and never knows which is which.
 */
import type { Config } from '../config/config.js';
import type { LaneName } from './pool-stats.js';

/** What a service's client and its cheap request are built from. */
export interface ServiceContext {
  readonly config: Config;
  /**
   * Node's fetch sending through the service's lane, counted under this service's name in
   * `pool.stats()`. Stable for the pool's life (it reads the lane's current dispatcher on each call).
   */
  readonly fetch: typeof globalThis.fetch;
}

/**
 * A service reached over HTTP through the pool. Method syntax on purpose: a `PoolService<OpenAI>`
 * is then usable where the pool keeps `PoolService<unknown>`.
 *
 * @typeParam Client - what `build` returns (an SDK client), read back through the pool.
 */
export interface PoolService<Client> {
  /** The key in `pool.stats().services`, in health and in `pool.fetchFor(name)`. */
  readonly name: string;

  /**
   * The lane its client sends through: `voice` for the session's own requests (its own
   * connections, never taken by background work), `background` (the default) for the rest. Its
   * health checks always go through the background lane (a second client, built on that lane's
   * fetch); its warm-up, keep-warm and abort-recovery requests go through its own lane, each
   * aborted after `POOL_INIT_TIMEOUT_MS` at most.
   */
  readonly lane?: LaneName;

  /**
   * Whether this configuration asks for the service. One that does not is still listed in
   * `pool.stats().services` as `configured: false`, with no client and no requests.
   *
   * @param config - the validated configuration
   * @returns true to build the client and check its health
   */
  isConfigured(config: Config): boolean;

  /**
   * Builds the client. No I/O: the warm-up is `ping`'s job. Called again, to replace the client,
   * when the health monitor sees repeated failures.
   *
   * @param context - the configuration and the pool's counted fetch
   * @returns the client `pool` hands out
   */
  build(context: ServiceContext): Client;

  /**
   * The cheap request: the health check, the build's warm-up, keep-warm, and the replacement of
   * a connection an aborted request took down. Never HEAD: undici closes the connection after
   * every HEAD request, so it would warm nothing.
   *
   * @param client - the current client on the lane it is sent through (a rebuilt one after
   *   repeated failures)
   * @param context - the configuration and the pool's counted fetch on that lane
   * @param signal - aborts the request (the health check's deadline, or the pool's ping deadline);
   *   absent when the client's own timeout bounds it
   * @returns settles when the answer has been read (the connection is free again)
   * @throws any error when the service does not answer well: the health monitor records it
   */
  ping(client: Client, context: ServiceContext, signal?: AbortSignal): Promise<unknown>;

  /**
   * Cheap requests sent at once while the pool is built, so as many connections are open
   * before the first call, all on the service's own lane. 1 or more; the first one's outcome is
   * recorded as the first health check.
   */
  readonly warmUpRequests: number;

  /**
   * Connections kept open while the service idles (that many cheap requests at once, each
   * keep-warm look). 0: never kept warm.
   */
  readonly keepWarmConnections: number;

  /**
   * Open a replacement connection when an answered request is aborted (a barge-in cuts a
   * streamed reply, and its connection with it), so the next request finds a warm one.
   */
  readonly replaceAfterAbort: boolean;
}
