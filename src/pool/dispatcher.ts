/** The one keep-alive HTTP dispatcher every client of a pool sends through. */
import type { ConnectionOptions } from 'node:tls';
import { Agent, buildConnector, type Dispatcher } from 'undici';
import type { Connector } from './connection-accounting.js';

export interface DispatcherSettings {
  /** Per-origin cap: an uncapped undici pool opens about twice the concurrency. */
  connectionsPerOrigin: number;
  /** How long an idle connection stays open: must outlast the pause between two turns. */
  keepAliveTimeoutMs: number;
  connectTimeoutMs: number;
  /** Extra TLS options (a private CA in tests and benchmarks). */
  tls?: Pick<ConnectionOptions, 'ca'>;
}

export function createConnector(settings: DispatcherSettings): Connector {
  // buildConnector keeps a TLS session cache per origin, so a new connection resumes a session.
  return buildConnector({ timeout: settings.connectTimeoutMs, ...settings.tls });
}

export function createDispatcher(settings: DispatcherSettings, connector: Connector): Agent {
  return new Agent({
    connect: connector,
    connections: settings.connectionsPerOrigin,
    keepAliveTimeout: settings.keepAliveTimeoutMs,
    keepAliveMaxTimeout: Math.max(settings.keepAliveTimeoutMs, 600_000),
    // HTTP/2 stays off: undici 7 does not multiplex POSTs and can crash on a broken h2 session.
    allowH2: false,
  });
}

export interface OriginCounts {
  connected: number;
  free: number;
  pending: number;
  running: number;
  queued: number;
}

/** The dispatcher's live counts per origin (origins carry no credentials). */
export function originCounts(agent: Agent): Record<string, OriginCounts> {
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
 */
export function pooledFetch(
  currentDispatcher: () => Dispatcher,
  observe: (run: () => Promise<Response>) => Promise<Response>,
): typeof fetch {
  return (input, init) =>
    observe(() => {
      // Node's fetch types its dispatcher with its bundled undici; the npm undici Agent is the
      // same protocol (the field notes verify it), only a different declaration.
      const withDispatcher = { ...init, dispatcher: currentDispatcher() } as unknown as RequestInit;
      return fetch(input, withDispatcher);
    });
}
