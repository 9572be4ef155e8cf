/**
 * What `cleanup()` and `close()` do to a pool's parts: cleanup retires the lanes' dispatchers
 * (idle connections close, requests in flight finish), prunes caches and resets error windows;
 * close stops the timers, lets requests finish up to a deadline, then tears everything down.
 */
import type { Logger } from '../lib/logger.js';
import { describeError } from '../lib/redact.js';
import type { PoolParts } from './pool-parts.js';
import type { CleanupReport } from './pool-stats.js';
import type { PooledStore } from './pooled-store.js';

/**
 * @param parts - the pool's parts
 * @returns what was done, stamped now
 */
export function cleanUpParts(parts: PoolParts): CleanupReport {
  const { lanes, services, components } = parts;
  const retired = lanes.retire();
  const registered = services.list();
  for (const { metrics } of registered) metrics.resetErrorWindow();
  return {
    at: new Date().toISOString(),
    ...retired,
    cachesPruned: components.pruneCaches(),
    errorWindowsReset: registered.length,
  };
}

export interface CloseOptions {
  /** How long requests in flight may finish, in ms (`POOL_CLOSE_TIMEOUT_MS`); 0: destroyed at once. */
  timeoutMs: number;
  /** Closed after the lanes; its failure is logged, never thrown. */
  memoryStore: PooledStore | undefined;
  logger: Logger;
  /** Scrubbed from logged errors. */
  secrets: readonly string[];
}

/**
 * Stops the health monitor, keep-warm and the recycler, closes both lanes (waiting for requests
 * in flight up to the deadline, then destroying what is left), the memory store, and the
 * connection accounting.
 *
 * @param parts - the pool's parts
 * @param options - the deadline, the store, where to log
 * @returns settles when everything is closed; never rejects
 */
export async function closeParts(parts: PoolParts, options: CloseOptions): Promise<void> {
  const { logger } = options;
  parts.health.stop();
  parts.keepWarm.stop();
  parts.recycler.stop();
  const outcome = await parts.lanes.close(options.timeoutMs);
  if (outcome === 'destroyed-at-deadline')
    logger.warn('requests still running at pool close deadline; destroying connections');
  await options.memoryStore
    ?.close()
    .catch((error: unknown) =>
      logger.warn({ error: describeError(error, options.secrets) }, 'memory store close failed'),
    );
  parts.accounting.close();
}
