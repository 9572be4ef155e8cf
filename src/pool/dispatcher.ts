/** The one keep-alive HTTP dispatcher every client of a pool sends through. */
import type { ConnectionOptions } from 'node:tls';
import { Agent, Client, type Dispatcher, Pool, buildConnector } from 'undici';
import { type Connector, markingConnector } from './connection-accounting.js';

export interface DispatcherSettings {
  /** Per-origin cap: an uncapped undici pool opens about twice the concurrency. */
  connectionsPerOrigin: number;
  /** How long an idle connection stays open: must outlast the pause between two turns. */
  keepAliveTimeoutMs: number;
  connectTimeoutMs: number;
  /** Extra TLS options (a private CA in tests and benchmarks). */
  tls?: Pick<ConnectionOptions, 'ca'> | undefined;
}

export function createConnector(settings: DispatcherSettings): Connector {
  // buildConnector keeps a TLS session cache per origin, so a new connection resumes a session.
  return markingConnector(buildConnector({ timeout: settings.connectTimeoutMs, ...settings.tls }));
}

/**
 * @param settings - the pool's dispatcher settings
 * @param connector - shared by every dispatcher of the pool (one accounting, one TLS session cache)
 * @param shape - this dispatcher's own cap per origin, and how long its idle connections stay
 *   open (`maxIdleMs` caps a server's longer Keep-Alive hint too: overflow connections close soon)
 * @returns a keep-alive Agent whose `destroy()` reaches its connections even after `close()`
 */
export function createDispatcher(
  settings: DispatcherSettings,
  connector: Connector,
  shape: { connections: number; maxIdleMs?: number } = {
    connections: settings.connectionsPerOrigin,
  },
): Agent {
  const idleMs = shape.maxIdleMs ?? settings.keepAliveTimeoutMs;
  return new DestroyableAgent({
    connect: connector,
    connections: shape.connections,
    keepAliveTimeout: idleMs,
    keepAliveMaxTimeout: shape.maxIdleMs ?? Math.max(idleMs, 600_000),
    // HTTP/2 stays off: undici 7 does not multiplex POSTs and can crash on a broken h2 session.
    allowH2: false,
  });
}

/**
 * An Agent whose destroy() still reaches its connections after close(). undici's Agent.close()
 * forgets its per-origin pools at once, so destroy() after it cut nothing: a pool closing past
 * its deadline, or a dispatcher retired by cleanup, could not end a hung request.
 */
class DestroyableAgent extends Agent {
  readonly #origins: Set<Pool | Client>;

  constructor(options: Agent.Options) {
    const origins = new Set<Pool | Client>();
    super({
      ...options,
      // undici's own default factory, remembering what it made.
      factory: (origin, opts) => {
        for (const old of origins)
          if ((old.closed || old.destroyed) && old.stats.connected === 0) origins.delete(old);
        const poolOptions = opts as Pool.Options;
        const made =
          poolOptions.connections === 1
            ? new Client(origin, poolOptions)
            : new Pool(origin, poolOptions);
        origins.add(made);
        return made;
      },
    });
    this.#origins = origins;
  }

  override destroy(err: Error | null, callback: () => void): void;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null): Promise<void>;
  override destroy(): Promise<void>;
  override destroy(
    errOrCallback?: Error | null | (() => void),
    callback?: () => void,
  ): Promise<void> | void {
    const err = typeof errOrCallback === 'function' ? null : (errOrCallback ?? null);
    const done = typeof errOrCallback === 'function' ? errOrCallback : callback;
    // The callback form: undici's promise form calls this.destroy() again, with a callback.
    const own = new Promise<void>((resolve) => super.destroy(err, () => resolve()));
    const destroyed = Promise.all([
      own,
      ...[...this.#origins].map((d) => d.destroy(err).catch(() => undefined)),
    ]).then(() => undefined);
    if (!done) return destroyed;
    void destroyed.finally(done);
  }
}

export interface OriginCounts {
  connected: number;
  free: number;
  pending: number;
  running: number;
  queued: number;
}

/** What the pool's dispatchers report: undici's per-origin counts (an Agent, or a lane). */
export interface CountedDispatcher {
  readonly stats: Record<string, unknown>;
}

/** The dispatcher's live counts per origin (origins carry no credentials). */
export function originCounts(agent: CountedDispatcher): Record<string, OriginCounts> {
  const out: Record<string, OriginCounts> = {};
  for (const [origin, s] of Object.entries(agent.stats)) {
    const stats = s as Partial<OriginCounts>;
    out[origin] = {
      connected: stats.connected ?? 0,
      free: stats.free ?? 0,
      pending: stats.pending ?? 0,
      running: stats.running ?? 0,
      queued: stats.queued ?? 0,
    };
  }
  return out;
}

/**
 * Node's global fetch sending through the given dispatcher, counted in `onRequest`. The
 * dispatcher is read per call so the pool can swap it (cleanup) under live clients. Node's own
 * fetch, not undici's: undici.fetch breaks the OpenAI SDK's audio uploads (FormData mismatch).
 *
 * @param currentDispatcher - the dispatcher for this request now (given its init: its signal)
 * @param observe - runs the request (`run`) and may count it
 * @returns a fetch with Node's signature
 */
export function pooledFetch(
  currentDispatcher: (init?: RequestInit) => Pick<Dispatcher, 'dispatch'>,
  observe: (run: () => Promise<Response>, init?: RequestInit) => Promise<Response>,
): typeof fetch {
  return (input, init) =>
    observe(() => {
      // Node's fetch types its dispatcher with its bundled undici; the npm undici Agent is the
      // same protocol (the field notes verify it), only a different declaration.
      const withDispatcher = {
        ...init,
        dispatcher: currentDispatcher(init),
      } as unknown as RequestInit;
      return fetch(input, withDispatcher);
    }, init);
}
