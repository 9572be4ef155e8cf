/** The call's memories, loaded once at its start under the store's deadline. */
import pTimeout from 'p-timeout';
import type { Config } from '../config/config.js';
import type { Logger } from '../lib/logger.js';
import { describeError } from '../lib/redact.js';
import type { MemoryServices } from '../memory/memory-services.js';
import type { ConnectionPool } from '../pool/connection-pool.js';
import type { StoredMemory } from '../store/memory-store.js';

/**
 * Everything the call may retrieve from, up to `MEMORY_LOAD_CAP`, in one round trip.
 * @param services the process's memory services (their store)
 * @param userId the caller
 * @param config the memory deadline and cap
 * @param logger where a failure is logged (redacted)
 * @param pool its secrets redact the log line
 * @returns the memories and whether they loaded (false: the call goes on without); never rejects
 */
export async function loadMemories(
  services: MemoryServices,
  userId: string,
  config: Config,
  logger: Logger | undefined,
  pool: ConnectionPool,
): Promise<{ memories: StoredMemory[]; ok: boolean }> {
  const timeoutMs = config.memory.loadTimeoutMs;
  try {
    const memories = await pTimeout(services.store.load(userId, config.memory.loadCap), {
      milliseconds: timeoutMs,
      message: `the memory store did not answer within ${timeoutMs} ms`,
    });
    return { memories, ok: true };
  } catch (error) {
    logger?.warn(
      { error: describeError(error, pool.secrets) },
      'memories unavailable; the call goes on without them',
    );
    return { memories: [], ok: false };
  }
}
