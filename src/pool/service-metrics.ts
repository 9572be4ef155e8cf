import { LatencyWindow, type Percentiles } from '../lib/latency-window.js';

export interface ServiceMetricsSnapshot {
  requests: number;
  errors: number;
  /** Errors over requests since the last reset of the error window. */
  errorRate: number;
  inFlight: number;
  /** Time to response headers (first byte), the part of a call a caller waits on. */
  latencyMs: Percentiles;
}

/** Counts one service's HTTP traffic as it passes through the pooled fetch. */
export class ServiceMetrics {
  requests = 0;
  errors = 0;
  inFlight = 0;
  /** When a request last started or ended (Date.now): how long the service has been idle. */
  lastActiveAt = Date.now();
  #windowRequests = 0;
  #windowErrors = 0;
  readonly latency = new LatencyWindow();

  started(): number {
    this.requests++;
    this.#windowRequests++;
    this.inFlight++;
    this.lastActiveAt = Date.now();
    return performance.now();
  }

  finished(startedAt: number, ok: boolean): void {
    this.inFlight--;
    this.lastActiveAt = Date.now();
    this.latency.record(performance.now() - startedAt);
    if (!ok) {
      this.errors++;
      this.#windowErrors++;
    }
  }

  /** Forget recent errors (after an outage is over) without losing the totals. */
  resetErrorWindow(): void {
    this.#windowRequests = 0;
    this.#windowErrors = 0;
  }

  snapshot(): ServiceMetricsSnapshot {
    return {
      requests: this.requests,
      errors: this.errors,
      errorRate: this.#windowRequests === 0 ? 0 : round(this.#windowErrors / this.#windowRequests),
      inFlight: this.inFlight,
      latencyMs: this.latency.percentiles(),
    };
  }
}

const round = (n: number) => Math.round(n * 1000) / 1000;
