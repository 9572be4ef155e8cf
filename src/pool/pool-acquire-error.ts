/**
 * A request that waited longer than `POOL_ACQUIRE_TIMEOUT_MS` for one of its lane's connections
 * (every one busy): it fails at once instead of waiting out its whole request timeout in a queue.
 * Only the background lane has this bound; the caller (the memory processor) retries later.
 */

/**
 * No connection of the lane came free in time; nothing was sent, so a retry is always safe.
 * Neither its name nor its message says "timeout": the OpenAI SDK takes any connection error
 * whose text matches /timed? ?out/ for its own request timeout and drops the cause.
 */
export class PoolAcquireError extends Error {
  /** Stable, for code that matches on `code` rather than on the class (undici's style). */
  readonly code = 'POOL_ACQUIRE_TIMEOUT';

  /**
   * @param lane - the lane whose connections were all busy
   * @param origin - where the request was going (an origin carries no credentials)
   * @param waitedMs - how long it waited: the acquisition timeout
   */
  constructor(
    readonly lane: string,
    readonly origin: string,
    readonly waitedMs: number,
  ) {
    super(`no ${lane} connection to ${origin} came free within ${waitedMs} ms`);
    this.name = 'PoolAcquireError';
  }
}

/**
 * @param error - anything thrown; fetch wraps the error in a `TypeError` and the OpenAI SDK in an
 *   `APIConnectionError`, so the chain of causes is searched
 * @returns the acquisition timeout behind it, if there is one
 */
export function poolAcquireErrorOf(error: unknown): PoolAcquireError | undefined {
  for (let e = error, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++)
    if (e instanceof PoolAcquireError) return e;
  return undefined;
}
