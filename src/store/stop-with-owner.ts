/**
 * A server the worker started must not outlive it, whatever ends the worker: an exit hook stops
 * it on a normal exit, but a SIGKILL (an OOM kill, `kill -9`, a supervisor giving up) runs no
 * hook, and an orphaned PostgreSQL keeps its port and data directory. A tiny shell, in its own
 * process group so that a signal to the worker's group does not take it first, polls the worker
 * once a second and asks the server for a fast shutdown when the worker is gone.
 */
import { type ChildProcess, spawn } from 'node:child_process';

const WATCH = 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; kill -INT "$2" 2>/dev/null';

/**
 * Starts the watchdog for one server process.
 *
 * @param serverPid the server to stop when this process is gone
 * @param ownerPid the process whose end stops the server (this one by default)
 * @returns the watchdog, to be killed when the server is stopped the ordinary way
 */
export function stopWithOwner(serverPid: number, ownerPid = process.pid): ChildProcess {
  const watchdog = spawn(
    '/bin/sh',
    ['-c', WATCH, 'stop-with-owner', String(ownerPid), String(serverPid)],
    {
      detached: true,
      stdio: 'ignore',
      // Nothing of the worker's environment (API keys) reaches it.
      env: { PATH: '/usr/bin:/bin' },
    },
  );
  watchdog.on('error', () => undefined); // no /bin/sh: the exit hook still stops the server
  watchdog.unref();
  return watchdog;
}
