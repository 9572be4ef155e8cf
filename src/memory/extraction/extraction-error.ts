/**
 * Why an extraction call failed, and whether trying the same call again can help: every error
 * of a call (HTTP status, network, timeout, refusal, unusable answer) becomes an
 * `ExtractionError` with a reason, and a reason no retry fixes ends the call's retries at once.
 */
import { AbortError } from 'p-retry';
import { poolAcquireErrorOf } from '../../pool/pool-acquire-error.js';

/**
 * Why an extraction failed (extraction-triage.ts decides what becomes of the turns):
 * - `unavailable`: out of reach, timed out, rate limited or failing (5xx): try again later;
 * - `misconfigured`: the key, the access or the model is wrong (401/403/404): the service's
 *   fault, not the turns', and waiting does not fix it (an operator does);
 * - `invalid-output`: an answer that is not the memories JSON (a fluke, or a broken service);
 * - `bad-request`: another 4xx, which may be this input's fault or the setup's;
 * - `rejected`: this conversation can never succeed (a content refusal, too long for the model).
 */
export type ExtractionFailure =
  'unavailable' | 'misconfigured' | 'invalid-output' | 'bad-request' | 'rejected';

/** An extraction that failed, with why (`reason`) and the LLM's HTTP status if it gave one. */
export class ExtractionError extends Error {
  /** The HTTP status the LLM answered with, when it answered with one. */
  readonly status: number | undefined;

  /**
   * @param message what failed, for logs (never the conversation)
   * @param reason why, which decides whether a retry can help
   * @param options the underlying error, and the HTTP status when there was one
   */
  constructor(
    message: string,
    readonly reason: ExtractionFailure,
    options: { cause?: unknown; status?: number } = {},
  ) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.name = 'ExtractionError';
    this.status = options.status;
  }
}

/** A Retry-After longer than this is not waited for within one call (the turns wait instead). */
export const MAX_RETRY_AFTER_MS = 30_000;

/**
 * @param error what one attempt of an extraction call threw
 * @returns an {@link ExtractionError} worth another attempt (unavailable, invalid output), or
 *   one wrapped in p-retry's `AbortError`, which ends the call's attempts at once
 */
export function classifyAttemptError(error: unknown): Error {
  if (error instanceof ExtractionError)
    return error.reason === 'unavailable' || error.reason === 'invalid-output'
      ? error
      : new AbortError(error);
  // The pool's background lane stayed full: trying again at once would wait again. The batch
  // waits for the processor's backoff instead (nothing was sent: retrying is always safe).
  const acquire = poolAcquireErrorOf(error);
  if (acquire)
    return new AbortError(
      new ExtractionError(`memory extraction failed: ${acquire.message}`, 'unavailable', {
        cause: error,
      }),
    );
  const status = (error as { status?: unknown }).status;
  if (typeof status === 'number') {
    const reason = reasonOfStatus(status, error as { code?: unknown; message?: unknown });
    const wrapped = new ExtractionError(`memory extraction failed: HTTP ${status}`, reason, {
      cause: error,
      status,
    });
    return reason === 'unavailable' ? wrapped : new AbortError(wrapped);
  }
  // Connection errors, resets and aborts: worth another try.
  return new ExtractionError(
    `memory extraction failed: ${(error as Error)?.message ?? String(error)}`,
    'unavailable',
    { cause: error },
  );
}

function reasonOfStatus(
  status: number,
  { code, message }: { code?: unknown; message?: unknown },
): ExtractionFailure {
  if (status === 408 || status === 409 || status === 429 || status >= 500) return 'unavailable';
  if (status === 401 || status === 403 || status === 404) return 'misconfigured';
  // The conversation itself is too big for the model: it will be every time.
  const tooLong =
    code === 'context_length_exceeded' ||
    (typeof message === 'string' && /maximum context length/i.test(message));
  if (status === 413 || tooLong) return 'rejected';
  return 'bad-request';
}

/**
 * @param error a failed attempt (its cause may carry the HTTP response's headers)
 * @returns the server's Retry-After in ms, capped at {@link MAX_RETRY_AFTER_MS}; 0 when absent
 */
export function retryAfterMsOf(error: Error): number {
  const headers = ((error.cause ?? error) as { headers?: Headers | Record<string, string> })
    .headers;
  const value = headers instanceof Headers ? headers.get('retry-after') : headers?.['retry-after'];
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds * 1000, MAX_RETRY_AFTER_MS) : 0;
}
