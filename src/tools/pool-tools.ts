/** The operator's voice tools: how is the pool doing, and clean it up. */
import { llm } from '@livekit/agents';
import type { ConnectionPool } from '../pool/connection-pool.js';
import { describeCleanup, describePoolStats } from './pool-summary.js';

export interface PoolToolsOptions {
  /** A burst of cleanup requests runs one cleanup per interval. */
  cleanupIntervalMs?: number;
  now?: () => number;
}

/**
 * The operator's voice tools. Their answers are built from `pool.stats()` and never hold a
 * secret or a credential-bearing URL.
 * @param pool the process's connection pool
 * @param options how often cleanup may run (a burst runs one), and a clock
 * @returns `getConnectionPoolStats` and `cleanupConnectionPool`
 */
export function createPoolTools(pool: ConnectionPool, options: PoolToolsOptions = {}) {
  const cleanupIntervalMs = options.cleanupIntervalMs ?? 30_000;
  const now = options.now ?? Date.now;
  let lastCleanupAt = -Infinity;

  const getConnectionPoolStats = llm.tool({
    description:
      'Report how the connection pool is doing: service health, open connections, connection reuse and latency. Use when asked about the connection pool, connections or service health.',
    execute: async () => describePoolStats(pool.stats()),
  });

  const cleanupConnectionPool = llm.tool({
    description:
      'Clean up the connection pool: close idle connections, prune expired cache entries and reset error counters. Never interrupts requests in flight. Use when asked to clean up or reset the connection pool.',
    execute: async () => {
      const waitedMs = now() - lastCleanupAt;
      if (waitedMs < cleanupIntervalMs) {
        const seconds = Math.ceil((cleanupIntervalMs - waitedMs) / 1000);
        return `I cleaned up the pool moments ago, so there is nothing to do yet; try again in ${seconds} seconds.`;
      }
      lastCleanupAt = now();
      return describeCleanup(await pool.cleanup());
    },
  });

  return { getConnectionPoolStats, cleanupConnectionPool };
}
