/**
 * @livekit/agents 1.9 listens to its parent only once `prewarm` has returned: a shutdown request
 * sent while a job process prewarms (a SIGTERM drain, a worker closing) is dropped, and the
 * worker then waits `shutdownProcessTimeout` (60 s) for an answer before killing the process.
 * This keeps such a request and hands it to the framework as soon as it listens.
 */

interface ShutdownRequest {
  case: 'shutdownRequest';
}

function isShutdownRequest(message: unknown): message is ShutdownRequest {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as { case?: unknown }).case === 'shutdownRequest'
  );
}

/**
 * Runs a job process's prewarm and relays a shutdown request that arrived meanwhile.
 *
 * @param prewarm the process's own prewarm
 * @returns what `prewarm` returns
 * @throws whatever `prewarm` throws (a held request is still relayed)
 */
export async function relayShutdownDuringPrewarm<T>(prewarm: () => Promise<T>): Promise<T> {
  if (!process.send) return prewarm(); // not a forked job process: nobody to listen to
  let held: ShutdownRequest | undefined;
  const hold = (message: unknown) => {
    if (isShutdownRequest(message)) held ??= message;
  };
  process.on('message', hold);
  try {
    return await prewarm();
  } finally {
    process.off('message', hold);
    // The framework installs its handler synchronously when prewarm resolves, in a microtask:
    // an immediate runs after it.
    const request = held;
    if (request) setImmediate(() => process.emit('message', request, undefined));
  }
}
