/**
 * Checks each service on an interval with a cheap request, and keeps its health: healthy,
 * degraded (failing, not yet down) or down. A service that keeps failing is handed to
 * `onPersistentFailure` (the pool rebuilds its client) at 3, 6, 12, … consecutive failures.
 */
import pTimeout from 'p-timeout';
import { describeError } from '../lib/redact.js';

export type HealthStatus = 'unknown' | 'healthy' | 'degraded' | 'down';
export type HealthCheck = (signal: AbortSignal) => Promise<unknown>;

export interface ServiceHealth {
  status: HealthStatus;
  consecutiveFailures: number;
  lastError?: string | undefined;
  lastCheckedAt?: string;
  lastHealthyAt?: string;
  checkLatencyMs?: number;
  rebuilds: number;
}

export interface HealthMonitorOptions {
  /** Between two rounds of checks, once `start()`ed. At least 1 (the configuration: 1000 and up). */
  intervalMs: number;
  /** One check's deadline; a check that misses it fails. At least 1. */
  timeoutMs: number;
  /** Consecutive failures after which a service is down (before: degraded). Default 3; at least 1. */
  downAfter?: number;
  /** Scrubbed from every recorded error message. */
  secrets?: readonly string[];
  /**
   * Called at `downAfter`, 2×, 4×, … consecutive failures (the pool rebuilds the client); a
   * rejection is ignored.
   *
   * @param service - the failing service
   * @param failures - its consecutive failures so far
   */
  onPersistentFailure?: (service: string, failures: number) => void | Promise<void>;
  /**
   * Called when a service's status changes (healthy, degraded, down).
   *
   * @param service - the service
   * @param health - its new health
   */
  onChange?: (service: string, health: ServiceHealth) => void;
}

export class HealthMonitor {
  readonly #checks = new Map<string, HealthCheck>();
  readonly #health = new Map<string, ServiceHealth>();
  readonly #running = new Map<string, Promise<ServiceHealth>>();
  #timer: NodeJS.Timeout | undefined;

  /** @param options - interval, deadline, thresholds and what to call on failure or change */
  constructor(private readonly options: HealthMonitorOptions) {}

  /**
   * Adds a service's check, or replaces it (its health so far is kept).
   *
   * @param service - the name its health is kept under
   * @param check - a cheap request; resolves when healthy, rejects (or misses the deadline) when not
   */
  add(service: string, check: HealthCheck): void {
    this.#checks.set(service, check);
    if (!this.#health.has(service))
      this.#health.set(service, { status: 'unknown', consecutiveFailures: 0, rebuilds: 0 });
  }

  /** Checks every service every `intervalMs` from now on; a second call does nothing. */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.checkAll(), this.options.intervalMs);
    // A health timer must never keep a finished job process alive.
    this.#timer.unref();
  }

  /** No more rounds; a check already running still records its outcome. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** @returns every service's health once each has been checked now */
  async checkAll(): Promise<Record<string, ServiceHealth>> {
    await Promise.all([...this.#checks.keys()].map((s) => this.check(s)));
    return this.snapshot();
  }

  /**
   * Runs one service's check now; concurrent calls share one check.
   *
   * @param service - a service added before
   * @returns its health after the check
   * @throws {@link Error} (as a rejection) when no check was added for the service
   */
  check(service: string): Promise<ServiceHealth> {
    return this.checkThrough(service, this.#checks.get(service));
  }

  /**
   * Runs one service's check now through another request, with the same deadline, recorded as
   * its check: the build's first warm-up request on the service's own lane (no call yet), where
   * the check itself would go through the background lane. Concurrent calls share one check.
   *
   * @param service - a service added before
   * @param check - the request to run instead of the service's own check
   * @returns its health after the check
   * @throws {@link Error} (as a rejection) when no check was given
   */
  checkThrough(service: string, check: HealthCheck | undefined): Promise<ServiceHealth> {
    const running = this.#running.get(service);
    if (running) return running;
    const run = this.#runCheck(service, check).finally(() => this.#running.delete(service));
    this.#running.set(service, run);
    return run;
  }

  async #runCheck(service: string, check: HealthCheck | undefined): Promise<ServiceHealth> {
    if (!check) throw new Error(`no health check for ${service}`);
    const controller = new AbortController();
    const started = performance.now();
    try {
      await pTimeout(check(controller.signal), {
        milliseconds: this.options.timeoutMs,
        message: `health check timed out after ${this.options.timeoutMs} ms`,
      });
      this.record(service, undefined, performance.now() - started);
    } catch (error) {
      controller.abort();
      this.record(service, error, performance.now() - started);
    }
    return this.#health.get(service)!;
  }

  /**
   * Records an outcome seen elsewhere (the pool's warm-up step) as a check.
   *
   * @param service - any name (one never added gets a health of its own)
   * @param error - undefined for a success
   * @param latencyMs - how long it took, if known
   */
  record(service: string, error: unknown, latencyMs?: number): void {
    const previous = this.#health.get(service) ?? {
      status: 'unknown',
      consecutiveFailures: 0,
      rebuilds: 0,
    };
    const now = new Date().toISOString();
    const downAfter = this.options.downAfter ?? 3;
    const next: ServiceHealth =
      error === undefined
        ? {
            status: 'healthy',
            consecutiveFailures: 0,
            lastCheckedAt: now,
            lastHealthyAt: now,
            rebuilds: previous.rebuilds,
          }
        : {
            ...previous,
            status: previous.consecutiveFailures + 1 >= downAfter ? 'down' : 'degraded',
            consecutiveFailures: previous.consecutiveFailures + 1,
            lastError: describeError(error, this.options.secrets),
            lastCheckedAt: now,
          };
    if (latencyMs !== undefined) next.checkLatencyMs = Math.round(latencyMs);
    this.#health.set(service, next);
    if (next.status !== previous.status) this.options.onChange?.(service, next);

    // Rebuild at 3, 6, 12, 24 … failures: a backoff that does not hammer a service that is down.
    const failures = next.consecutiveFailures;
    if (failures >= downAfter && Number.isInteger(Math.log2(failures / downAfter))) {
      next.rebuilds++;
      void Promise.resolve(this.options.onPersistentFailure?.(service, failures)).catch(
        () => undefined,
      );
    }
  }

  /** @returns a copy of every service's health */
  snapshot(): Record<string, ServiceHealth> {
    return Object.fromEntries([...this.#health].map(([s, h]) => [s, { ...h }]));
  }
}
