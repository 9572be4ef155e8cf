/** A job process starts reporting to the main process only when the main process listens. */
import type { Config } from '../config/config.js';
import type { Logger } from '../lib/logger.js';
import type { PoolStats } from '../pool/pool-stats.js';
import { METRICS_SOCKET_ENV, ProcessReporter } from './process-reporter.js';
import { RequestLatency, originsOf } from './request-latency.js';

/**
 * @param config the job process's configuration (the services' URLs label the latencies)
 * @param stats the pool's snapshot, read at each report (undefined while no pool is built)
 * @param logger where a broken socket is noted (debug)
 * @param env where the main process put its socket's path
 * @returns the running reporter, or undefined when metrics are off (`dev`, `connect`, tests)
 */
export function startProcessReporter(
  config: Config,
  stats: () => PoolStats | undefined,
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env,
): ProcessReporter | undefined {
  const socketPath = env[METRICS_SOCKET_ENV];
  if (!socketPath) return undefined;
  const latency = new RequestLatency(
    originsOf({ openai: config.openai.baseURL, supabase: config.supabase?.url }),
  );
  return new ProcessReporter({ socketPath, stats, latency, logger });
}
