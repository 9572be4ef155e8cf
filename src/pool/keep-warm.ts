/**
 * Keeps a service's connections open while the process waits for a call. API front ends close
 * an idle connection after a while (tens of seconds) and say nothing beforehand (no Keep-Alive
 * hint): a prewarmed process that waits minutes for its call would hand its first turn a cold
 * connection, and the caller would wait for a TCP and TLS handshake. A cheap request over each
 * idle connection, before the front end gives up on it, keeps them warm.
 */

/** One service the pool talks to over HTTP. */
export interface WarmableService {
  name: string;
  /** Milliseconds (on `now`'s clock) since a request of this service started or ended. */
  idleForMs(now: number): number;
  /** Requests running now: a busy service is warm already. */
  inFlight(): number;
  /** A cheap request (the health check's GET): it keeps the connection it runs on open. */
  warm(): Promise<unknown>;
}

export interface KeepWarmOptions {
  /** No connection of a service stays idle longer than about this. 0: off. */
  idleMs: number;
  /** Connections kept warm per service: a voice turn streams the LLM and speaks through TTS. */
  connections: number;
  services: () => readonly WarmableService[];
}

/** A background timer that warms idle services; it never keeps the process alive. */
export class KeepWarm {
  readonly #options: KeepWarmOptions;
  readonly #warming = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  /** Warm-up requests sent, in all: what keeping warm costs. */
  requests = 0;

  /** @param options how long a connection may idle, and how many to keep */
  constructor(options: KeepWarmOptions) {
    this.#options = options;
  }

  /** Looks every half `idleMs`, so that no connection idles much longer than `idleMs`. */
  start(): void {
    if (this.#timer || this.#options.idleMs <= 0) return;
    this.#timer = setInterval(() => this.#tick(), this.#options.idleMs / 2);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    const now = Date.now();
    for (const service of this.#options.services()) {
      if (this.#warming.has(service.name) || service.inFlight() > 0) continue;
      if (service.idleForMs(now) < this.#options.idleMs / 2) continue;
      this.#warming.add(service.name);
      // Sent together, they run on as many connections (opening one only if fewer are open).
      const requests = Array.from({ length: this.#options.connections }, () => {
        this.requests++;
        return service.warm();
      });
      // A failure is the health monitor's to report; keeping warm just tries again next time.
      void Promise.allSettled(requests).finally(() => this.#warming.delete(service.name));
    }
  }
}
