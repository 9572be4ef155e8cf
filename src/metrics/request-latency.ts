/**
 * Request latency as raw observations, for the main process's histograms. The pool keeps only
 * percentiles over a window; undici's diagnostics channels (process-wide, published by every
 * undici client, the pool's included) give each request's time to response headers, the same
 * moment the pool's own latency is measured at. Observed off the request path: a channel
 * subscriber only reads the clock and pushes a number.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { Labels, Sample } from './process-report.js';

interface RequestMessage {
  request?: { origin?: unknown };
}

/** Observations kept between two reports at most: past it the oldest are dropped. */
export const MAX_PENDING_OBSERVATIONS = 2_000;

export class RequestLatency {
  readonly #startedAt = new WeakMap<object, number>();
  #pending: Sample[] = [];
  #dropped = 0;
  readonly #services: ReadonlyMap<string, string>;
  readonly #onCreate = (message: unknown) => {
    const request = (message as RequestMessage).request;
    if (request) this.#startedAt.set(request, this.now());
  };
  readonly #onHeaders = (message: unknown) => {
    const request = (message as RequestMessage).request;
    const startedAt = request ? this.#startedAt.get(request) : undefined;
    if (!request || startedAt === undefined) return;
    this.#startedAt.delete(request);
    this.#observe(this.now() - startedAt, String(request.origin ?? 'unknown'));
  };

  /**
   * @param services origin (`https://api.openai.com`) → service name; other origins are `other`
   * @param now the clock, in milliseconds (tests move it)
   */
  constructor(
    services: Record<string, string>,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#services = new Map(Object.entries(services));
    diagnosticsChannel.subscribe('undici:request:create', this.#onCreate);
    diagnosticsChannel.subscribe('undici:request:headers', this.#onHeaders);
  }

  /** @returns the observations since the last call, and forgets them */
  take(): Sample[] {
    const taken = this.#pending;
    this.#pending = [];
    return taken;
  }

  /** Observations dropped because no report took them in time. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Stops observing (unsubscribes from undici's channels); pending observations stay takeable. */
  close(): void {
    diagnosticsChannel.unsubscribe('undici:request:create', this.#onCreate);
    diagnosticsChannel.unsubscribe('undici:request:headers', this.#onHeaders);
  }

  #observe(ms: number, origin: string): void {
    const labels: Labels = { service: this.#services.get(origin) ?? 'other', origin };
    this.#pending.push({ name: 'pool_request_duration', labels, value: Math.max(0, ms) });
    if (this.#pending.length > MAX_PENDING_OBSERVATIONS) {
      this.#pending.shift();
      this.#dropped++;
    }
  }
}

/**
 * @param urls service name → its base URL (unset ones are skipped)
 * @returns origin → service name, as {@link RequestLatency} takes it
 */
export function originsOf(urls: Record<string, string | undefined>): Record<string, string> {
  const origins: Record<string, string> = {};
  for (const [service, url] of Object.entries(urls)) {
    if (!url) continue;
    try {
      origins[new URL(url).origin] = service;
    } catch {
      // not a URL: its requests are labelled `other`
    }
  }
  return origins;
}
