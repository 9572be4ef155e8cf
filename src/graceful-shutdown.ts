/**
 * Two gaps in @livekit/agents 1.9's SIGTERM path, closed from the main process:
 *
 * - `drain()` joins every job process, and joining one that is still being spawned throws
 *   "runner not started": drain then returns at once and the running calls are not waited for.
 *   We wait for them ourselves (within the drain timeout) when that happens.
 * - `close()` can wait forever on an idle process the pool started while it was closing. Once
 *   no job is running there is nothing left to protect, so close gets a deadline; processes
 *   still alive when the worker exits are reaped (see reap-children.ts).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { AgentServer } from '@livekit/agents';
import type { Logger } from './pool/connection-pool.js';

export interface ShutdownOptions {
  /** How long `close()` may take once no job is running. */
  closeDeadlineMs?: number;
}

/** The framework's own default when the CLI drains without a timeout. */
const FRAMEWORK_DRAIN_TIMEOUT_MS = 60 * 60_000;

let installed = false;

export function hardenShutdown(logger: Logger, options: ShutdownOptions = {}): void {
  if (installed) return;
  installed = true;
  const closeDeadlineMs = options.closeDeadlineMs ?? 5_000;
  const drain = AgentServer.prototype.drain;
  const close = AgentServer.prototype.close;

  AgentServer.prototype.drain = async function drainAndWaitForJobs(
    this: AgentServer,
    timeout?: number,
  ) {
    const startedAt = Date.now();
    try {
      return await drain.call(this, timeout);
    } catch (error) {
      if (!(error instanceof Error) || error.message !== 'runner not started') throw error;
      const limit = timeout ?? FRAMEWORK_DRAIN_TIMEOUT_MS;
      logger.debug('drain raced a starting process; waiting for running jobs');
      while (this.activeJobs.length > 0 && Date.now() - startedAt < limit) await delay(100);
    }
  };

  AgentServer.prototype.close = async function closeWithDeadline(this: AgentServer) {
    const closing = close.call(this);
    for (;;) {
      const stalled = await Promise.race([
        closing.then(() => false),
        delay(closeDeadlineMs, true, { ref: false }),
      ]);
      if (!stalled) return;
      // Running calls are never cut: the deadline counts only once none is left.
      if (this.activeJobs.length === 0) {
        logger.warn(
          { deadlineMs: closeDeadlineMs },
          'worker close stalled with no job running; exiting',
        );
        return;
      }
    }
  };
}
