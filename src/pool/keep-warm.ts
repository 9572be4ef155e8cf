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
  /** Connections to keep warm for this service; `KeepWarmOptions.connections` if absent. 0: none. */
  connections?: number;
}

export interface KeepWarmOptions {
  /** No connection of a service stays idle longer than about this. 0: off. */
  idleMs: number;
  /**
   * Connections kept warm per service that does not say (a voice turn streams the LLM and speaks
   * through TTS: two). That many cheap requests go out together at each look.
   */
  connections: number;
  /** The services to keep warm, read at every look (services may come and go). */
  services: () => readonly WarmableService[];
}

/** A background timer that warms idle services; it never keeps the process alive. */
export class KeepWarm {
  readonly #options: KeepWarmOptions;
  readonly #warming = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  /** Warm-up requests sent, in all: what keeping warm costs. */
  requests = 0;

  /** @param options - how long a connection may idle, how many to keep, and which services */
  constructor(options: KeepWarmOptions) {
    this.#options = options;
  }

  /**
   * Starts looking every half `idleMs`, so that no connection idles much longer than `idleMs`.
   * Does nothing when `idleMs` is 0 or when already started.
   */
  start(): void {
    if (this.#timer || this.#options.idleMs <= 0) return;
    this.#timer = setInterval(() => this.#tick(), this.#options.idleMs / 2);
    this.#timer.unref();
  }

  /** Stops looking; warm-up requests already sent finish on their own. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Warms the chosen services now, busy or not (their connections were just recycled: the next
   * request should still find warm ones). Skips a service already being warmed.
   *
   * @param chosen - which services, by name
   */
  warmNow(chosen: (name: string) => boolean): void {
    for (const service of this.#options.services())
      if (chosen(service.name) && !this.#warming.has(service.name)) this.#warm(service);
  }

  #warm(service: WarmableService): void {
    const connections = service.connections ?? this.#options.connections;
    if (connections <= 0) return;
    this.#warming.add(service.name);
    // Sent together, they run on as many connections (opening one only if fewer are open).
    const requests = Array.from({ length: connections }, () => {
      this.requests++;
      return service.warm();
    });
    // A failure is the health monitor's to report; keeping warm just tries again next time.
    void Promise.allSettled(requests).finally(() => this.#warming.delete(service.name));
  }

  #tick(): void {
    const now = Date.now();
    for (const service of this.#options.services()) {
      const connections = service.connections ?? this.#options.connections;
      if (connections <= 0 || this.#warming.has(service.name) || service.inFlight() > 0) continue;
      if (service.idleForMs(now) < this.#options.idleMs / 2) continue;
      this.#warm(service);
    }
  }
}
