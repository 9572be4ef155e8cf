/** A service's fetch on the pool: its traffic counted, and its aborted answers recovered. */
import type { Dispatcher } from 'undici';
import { pooledFetch } from './dispatcher.js';
import { untilAborted } from './lane-dispatcher.js';
import type { ServiceMetrics } from './service-metrics.js';

export interface CountedFetchOptions {
  /** The lane's dispatcher now (cleanup and recycling swap it under live clients). */
  dispatcher(): Pick<Dispatcher, 'dispatch'>;
  /** Where this service's requests, errors, latency and idle time are counted. */
  metrics: ServiceMetrics;
  /**
   * Watches a request's abort signal (see `AbortRecovery.watch`); absent when this service's
   * aborts need no replacement.
   *
   * @returns call it once the response headers have arrived
   */
  watchAbort?: ((signal: AbortSignal | null | undefined) => () => void) | undefined;
}

/**
 * @param options - the dispatcher, the service's metrics and its abort watch
 * @returns Node's fetch through the pool: a 5xx or 429 answer and a thrown request count as errors
 */
export function countedFetch(options: CountedFetchOptions): typeof fetch {
  const { metrics, watchAbort } = options;
  // The lane hears of the request's abort: one aborted while it waits leaves the queue at once.
  const dispatcher = (init?: RequestInit) => untilAborted(options.dispatcher(), init?.signal);
  return pooledFetch(dispatcher, async (run, init) => {
    const answered = watchAbort?.(init?.signal);
    const started = metrics.started();
    try {
      const response = await run();
      answered?.();
      metrics.finished(started, response.status < 500 && response.status !== 429);
      return response;
    } catch (error) {
      metrics.finished(started, false);
      throw error;
    }
  });
}
