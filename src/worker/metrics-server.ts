/**
 * The worker's operator endpoints beside the framework's health server: `GET /metrics`
 * (Prometheus text, written by OpenTelemetry's Prometheus exporter) and `GET /ready`. Bound to
 * `METRICS_HOST:METRICS_PORT`; off when `METRICS_PORT` is unset.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MetricsEndpoints {
  /** Writes the Prometheus exposition (the exporter's own request handler). */
  metrics: (request: IncomingMessage, response: ServerResponse) => void;
  /** Brings registration up to date before a readiness check (a scrape refreshes on collection). */
  refreshReadiness: () => Promise<void>;
  /** @returns why the worker is not ready, or an empty list when it is */
  notReadyBecause: () => string[];
}

/**
 * @param endpoints what the two paths answer
 * @param host the address to bind (`METRICS_HOST`)
 * @param port the port (`METRICS_PORT`; 0 picks a free one, as tests do)
 * @returns the listening server
 * @throws the listen error (`EADDRINUSE`, `EACCES`), for the caller to explain
 */
export async function startMetricsServer(
  endpoints: MetricsEndpoints,
  host: string,
  port: number,
): Promise<Server> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' || (path !== '/metrics' && path !== '/ready')) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (path === '/metrics') return endpoints.metrics(request, response);
    void endpoints.refreshReadiness().then(() => {
      const reasons = endpoints.notReadyBecause();
      response
        .writeHead(reasons.length === 0 ? 200 : 503, { 'content-type': 'application/json' })
        .end(`${JSON.stringify({ ready: reasons.length === 0, reasons })}\n`);
    });
  });
  // Never keeps the process alive by itself: the framework decides when the worker ends.
  server.unref();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => resolve());
  });
  return server;
}

/**
 * @param server a listening server
 * @returns the port it listens on
 */
export const listeningPort = (server: Server): number => (server.address() as AddressInfo).port;

/**
 * Binds the port for a moment and lets it go: the worker checks it before anything starts, as it
 * does the health port. Another process can still take it before the real bind (that narrow race
 * ends in the same one-line error, a little later).
 * @param host the address to bind (`METRICS_HOST`)
 * @param port the port (`METRICS_PORT`)
 * @returns undefined when it can be bound; else the bind error
 */
export async function metricsPortError(
  host: string,
  port: number,
): Promise<NodeJS.ErrnoException | undefined> {
  const server = createServer();
  const failure = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    server.once('error', resolve);
    server.listen({ host, port, exclusive: true }, () => resolve(undefined));
  });
  if (!failure) await new Promise<void>((resolve) => server.close(() => resolve()));
  return failure;
}
