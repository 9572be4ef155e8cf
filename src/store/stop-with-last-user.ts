/**
 * A server the workers started must not outlive them, whatever ends them: the last user's exit
 * hook stops it on a normal exit, but a SIGKILL (an OOM kill, `kill -9`, a supervisor giving up)
 * runs no hook, and an orphaned PostgreSQL keeps its port and data directory. A tiny shell, in its
 * own process group so that a signal to the worker's group does not take it first, looks once a
 * second at the users of the data directory (see embedded-users.ts) and, once none is alive, takes
 * the same lock, looks again, and asks the server for a fast shutdown.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { lockFile, usersDirectory } from './embedded-users.js';

// $1 users directory, $2 server pid, $3 lock file. `set -C` makes `>` fail on an existing file:
// the lock is taken exactly as the workers take it (create-exclusive, holder pid inside).
const WATCH = `
anyone() {
  for f in "$1"/*; do
    [ -e "$f" ] || continue
    p=\${f##*/}
    kill -0 "\${p%%.*}" 2>/dev/null && return 0
  done
  return 1
}
while kill -0 "$2" 2>/dev/null; do
  sleep 1
  anyone "$1" && continue
  # The data directory is gone (deleted under the server): no user and no lock can exist.
  [ -d "$1" ] || { kill -INT "$2" 2>/dev/null; exit 0; }
  if (set -C; echo $$ > "$3") 2>/dev/null; then
    if anyone "$1"; then rm -f "$3"; continue; fi
    kill -INT "$2" 2>/dev/null
    n=0
    while kill -0 "$2" 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done
    rm -f "$3"
    exit 0
  fi
  read holder < "$3" 2>/dev/null
  [ -n "$holder" ] && ! kill -0 "$holder" 2>/dev/null && rm -f "$3"
done
`;

/**
 * Starts the watchdog for one server process.
 *
 * @param serverPid the server to stop once no user of `dataDir` is alive
 * @param dataDir the data directory whose users are counted
 * @returns the watchdog, to be killed when the server is stopped the ordinary way
 */
export function stopWithLastUser(serverPid: number, dataDir: string): ChildProcess {
  const watchdog = spawn(
    '/bin/sh',
    [
      '-c',
      WATCH,
      'stop-with-last-user',
      usersDirectory(dataDir),
      String(serverPid),
      lockFile(dataDir),
    ],
    {
      detached: true,
      stdio: 'ignore',
      // Nothing of the worker's environment (API keys) reaches it.
      env: { PATH: '/usr/bin:/bin' },
    },
  );
  watchdog.on('error', () => undefined); // no /bin/sh: the exit hooks still stop the server
  watchdog.unref();
  return watchdog;
}
