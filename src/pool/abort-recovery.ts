/**
 * An aborted HTTP/1.1 request takes its connection with it: a barge-in aborts the streamed
 * reply, and the next turn would pay a new TCP and TLS handshake. This opens a replacement at
 * once (one cheap request), so the next turn still finds a warm connection.
 *
 * Only a request that was answered counts: one aborted before any answer (a timeout against a
 * hanging server) is not a barge-in, and replacing it would stack connections on a server that
 * answers none. And only while a request is still running on the dispatcher as the abort lands:
 * an abort after the response was read (a caller's cleanup) takes no connection down.
 */

export interface AbortRecoveryOptions {
  /** Requests running on the pool's dispatcher right now, all origins together. */
  runningRequests(): number;
  /** True once the pool is closing: nothing is replaced any more. */
  closed(): boolean;
}

/** Watches requests' abort signals and sends one replacement request at a time. */
export class AbortRecovery {
  readonly #options: AbortRecoveryOptions;
  #replacing = false;
  /** Replacement requests sent, in all (`stats().connections.replacedAfterAbort`). */
  replaced = 0;

  /** @param options - where to read running requests and whether the pool is closed */
  constructor(options: AbortRecoveryOptions) {
    this.#options = options;
  }

  /**
   * Watches one request.
   *
   * @param signal - the request's abort signal; without one (or already aborted) nothing is
   *   watched
   * @param replace - the cheap request that opens a replacement connection; its failure is
   *   ignored (a service that is down is the health monitor's to report)
   * @returns call it once the response headers have arrived: only an answered request's abort
   *   is replaced
   */
  watch(signal: AbortSignal | null | undefined, replace: () => Promise<unknown>): () => void {
    let answered = false;
    if (signal && !signal.aborted) {
      signal.addEventListener(
        'abort',
        () => {
          if (answered) this.#replace(replace);
        },
        { once: true },
      );
    }
    return () => {
      answered = true;
    };
  }

  #replace(replace: () => Promise<unknown>): void {
    if (this.#options.closed() || this.#replacing) return;
    if (this.#options.runningRequests() === 0) return;
    this.#replacing = true;
    this.replaced++;
    // Not from inside the abort event: undici is still tearing the old socket down, and a
    // request sent now lands on a connection that goes with it.
    setTimeout(() => {
      if (this.#options.closed()) {
        this.#replacing = false;
        return;
      }
      replace()
        .catch(() => undefined)
        .finally(() => (this.#replacing = false));
    }, 0).unref();
  }
}
