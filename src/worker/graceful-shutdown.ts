/**
 * Two gaps in @livekit/agents 1.9's SIGTERM path, closed from the main process:
 *
 * - `drain()` waits for every job process to exit, idle ones included, and an idle process that
 *   is still loading the agent module never hears the shutdown request: Node holds IPC messages
 *   until a listener comes, the framework's first listener is a `once` for its initialize
 *   request, and the shutdown request delivered right behind it finds nobody. Drain then waits out
 *   `shutdownProcessTimeout` (60 s) and the orchestrator kills the worker first. Joining a process
 *   that is being spawned also throws "runner not started", which ends drain at once, before the
 *   running calls have finished. So drain here is over when no job is running: that is what it
 *   protects. Idle processes hold no call; `close()` ends them.
 * - `close()` can wait as long on the same idle process. Once no job is running there is nothing
 *   left to protect, so close gets a deadline; processes still alive when the worker exits are
 *   reaped (see reap-children.ts).
 */
import { AgentServer } from '@livekit/agents';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../lib/logger.js';

export interface ShutdownOptions {
  /** How long `close()` may take once no job is running. */
  closeDeadlineMs?: number;
  /** How often drain looks at the running jobs. */
  pollMs?: number;
}

/** The framework's own default when the CLI drains without a timeout. */
const FRAMEWORK_DRAIN_TIMEOUT_MS = 60 * 60_000;

let installed = false;

/**
 * Patches `AgentServer.drain` and `AgentServer.close` (once per process) as described above.
 *
 * @param logger where the shutdown's own lines go
 * @param options deadlines; the defaults are what production uses
 */
export function hardenShutdown(logger: Logger, options: ShutdownOptions = {}): void {
  if (installed) return;
  installed = true;
  const closeDeadlineMs = options.closeDeadlineMs ?? 5_000;
  const pollMs = options.pollMs ?? 100;
  const drain = AgentServer.prototype.drain;
  const close = AgentServer.prototype.close;

  AgentServer.prototype.drain = async function drainRunningJobs(
    this: AgentServer,
    timeout?: number,
  ) {
    const startedAt = Date.now();
    const limit = timeout ?? FRAMEWORK_DRAIN_TIMEOUT_MS;
    // The framework's drain stops new jobs and asks idle processes to exit; what it then waits
    // for is not ours to wait on (see above), but its failure is worth a line.
    void drain.call(this, timeout).catch((error: unknown) => {
      logger.debug({ error: String(error) }, 'framework drain ended early');
    });
    while (this.activeJobs.length > 0) {
      if (Date.now() - startedAt >= limit) throw new Error(`timed out draining after ${limit} ms`);
      await delay(pollMs);
    }
    logger.info({ elapsedMs: Date.now() - startedAt }, 'worker drained: no job running');
  };

  AgentServer.prototype.close = async function closeWithDeadline(this: AgentServer) {
    const closing = close.call(this);
    for (;;) {
      const stalled = await Promise.race([
        closing.then(() => false),
        delay(closeDeadlineMs, true, { ref: false }),
      ]);
      if (!stalled) return;
      // Running calls are never cut: the deadline counts only once none is left. What is left
      // then is an idle process still starting (a Ctrl-C in the first seconds, or a replacement
      // forked as the last job ended): nothing to protect, and it ends with the worker. An
      // expected stop, so not a warning.
      if (this.activeJobs.length === 0) {
        logger.info(
          { deadlineMs: closeDeadlineMs },
          'worker stopped; idle processes still starting end with it',
        );
        return;
      }
    }
  };
}
