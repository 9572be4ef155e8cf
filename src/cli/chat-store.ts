/**
 * The memory store for `npm run chat`, made ready as the worker's main process makes it (one
 * process plays both parts here): migrations, or the embedded PostgreSQL when nothing is
 * configured, which the chat then uses alongside any worker on the same data directory. Unlike
 * the worker, the chat leaves it before the command returns: when it was its last user, the
 * server is stopped and waited for, so the next `chat` never finds one still shutting down.
 */
import { type Config, loadConfig } from '../config/config.js';
import type { Logger } from '../lib/logger.js';
import { describeError } from '../lib/redact.js';
import { type PreparedStore, prepareMemoryStore } from '../store/prepare-store.js';

export interface ChatStore {
  /** The configuration the chat runs on: `DATABASE_URL` filled in for the embedded PostgreSQL. */
  config: Config;
  prepared: PreparedStore;
  /**
   * Leaves the embedded PostgreSQL: stopped, and waited for, when no worker or other command
   * still uses it. Never throws: a failure is logged (the exit hook and the watchdog remain).
   */
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
  // Not kept running: the chat is short, and a server that disappears under it ends its memory.
  const prepared = await prepareMemoryStore(config, logger, env);
  return {
    // Read again as a job process does: the embedded PostgreSQL's URL is now in the environment.
    config: prepared.kind === 'embedded' ? loadConfig(env) : config,
    prepared,
    release: async () => {
      if (prepared.kind !== 'embedded') return;
      await prepared.stop().catch((error: unknown) => {
        logger.warn({ error: describeError(error) }, 'embedded PostgreSQL not left cleanly');
      });
    },
  };
}
