/**
 * The memory store for `npm run chat`, made ready as the worker's main process makes it (one
 * process plays both parts here): migrations, or the embedded PostgreSQL when nothing is
 * configured; and, unlike the worker, stopped before the command returns, so that the next
 * `chat` on the same data directory starts its own instead of reusing one that is shutting down.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { type Config, loadConfig } from '../config/config.js';
import type { Logger } from '../lib/logger.js';
import { processIsAlive } from '../lib/process-alive.js';
import { type PreparedStore, prepareMemoryStore } from '../store/prepare-store.js';

/** How long a fast shutdown of the embedded PostgreSQL may take before we stop waiting. */
const POSTGRES_STOP_TIMEOUT_MS = 10_000;

export interface ChatStore {
  /** The configuration the chat runs on: `DATABASE_URL` filled in for the embedded PostgreSQL. */
  config: Config;
  prepared: PreparedStore;
  /** Stops the embedded PostgreSQL this chat started (one it reused is left running). Never throws. */
  release(): Promise<void>;
}

/**
 * @param config the configuration as read
 * @param logger where the store's preparation is logged (silent unless `LOG_LEVEL` is set)
 * @param env the environment the configuration is read again from once the store is ready
 * @returns the configuration to run on, what was prepared, and how to let it go
 */
export async function prepareChatStore(
  config: Config,
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ChatStore> {
  const prepared = await prepareMemoryStore(config, logger, env);
  return {
    // Read again as a job process does: the embedded PostgreSQL's URL is now in the environment.
    config: prepared.kind === 'embedded' ? loadConfig(env) : config,
    prepared,
    release: () => stopStartedPostgres(prepared),
  };
}

async function stopStartedPostgres(prepared: PreparedStore): Promise<void> {
  if (prepared.kind !== 'embedded' || prepared.reused || prepared.pid === undefined) return;
  const { pid } = prepared;
  try {
    process.kill(pid, 'SIGINT'); // PostgreSQL's fast shutdown
  } catch {
    return; // already gone
  }
  const deadline = Date.now() + POSTGRES_STOP_TIMEOUT_MS;
  // Our own child: Node reaps it as soon as it exits, and then it is no longer alive.
  while (processIsAlive(pid) && Date.now() < deadline) await delay(25);
}
