/**
 * One set of OpenTelemetry instruments in the main process, read two ways: Prometheus (served by
 * the worker's metrics server) and, when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, OTLP/HTTP every
 * `OTEL_METRIC_EXPORT_INTERVAL`. Its own `MeterProvider`, never the global one: the framework's
 * tracing and logging providers are left as they are.
 */
import type { Attributes, Counter, Histogram } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import {
  type Resource,
  detectResources,
  envDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import {
  MeterProvider,
  type MetricReader,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { METRIC_PREFIX, type MetricSpec, PROCESS_METRICS, WORKER_METRICS } from './catalog.js';
import type { Labels, Sample } from './process-report.js';
import type { ReportSink } from './report-hub.js';

/** `service.name` when neither `OTEL_SERVICE_NAME` nor `OTEL_RESOURCE_ATTRIBUTES` names one. */
export const DEFAULT_SERVICE_NAME = 'livekit-memory-agent';

/** OTLP export interval when `OTEL_METRIC_EXPORT_INTERVAL` is unset (the SDK's default). */
const DEFAULT_EXPORT_INTERVAL_MS = 60_000;

/** Bucket bounds of latency histograms (ms): a turn's budget is a few hundred. */
const LATENCY_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000];

export interface WorkerMeterOptions {
  /** Every gauge's current value, read at each collection (scrape or export). */
  gauges: () => Sample[];
  /** Resolves with the LiveKit worker id once registered (a resource attribute). */
  workerId: Promise<string>;
  /** The environment the OTel variables are read from. */
  env?: NodeJS.ProcessEnv;
}

export class WorkerMeter implements ReportSink {
  readonly prometheus: PrometheusExporter;
  readonly resource: Resource;
  readonly #provider: MeterProvider;
  readonly #counters = new Map<string, Counter>();
  readonly #histograms = new Map<string, Histogram>();

  /** @param options where the gauges and the worker id come from */
  constructor(options: WorkerMeterOptions) {
    const env = options.env ?? process.env;
    // Served by the worker's own HTTP server (with /ready), never a second one.
    this.prometheus = new PrometheusExporter({ preventServerStart: true });
    const readers: MetricReader[] = [this.prometheus];
    if (env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT) {
      readers.push(
        new PeriodicExportingMetricReader({
          // Endpoint, headers, timeout and compression: the exporter reads the OTEL_* variables.
          exporter: new OTLPMetricExporter(),
          exportIntervalMillis: positive(
            env.OTEL_METRIC_EXPORT_INTERVAL,
            DEFAULT_EXPORT_INTERVAL_MS,
          ),
        }),
      );
    }
    this.resource = resourceFromAttributes({
      'service.name': DEFAULT_SERVICE_NAME,
      'livekit.worker.id': options.workerId,
    }).merge(detectResources({ detectors: [envDetector] }));
    // The worker id settles at registration: from then on every export carries it.
    void options.workerId.then(() => this.resource.waitForAsyncAttributes?.());
    this.#provider = new MeterProvider({
      resource: this.resource,
      readers,
    });
    const meter = this.#provider.getMeter('livekit-memory-agent');
    const specs: Record<string, MetricSpec> = { ...PROCESS_METRICS, ...WORKER_METRICS };
    const gaugeNames: string[] = [];
    for (const [name, spec] of Object.entries(specs)) {
      const options = { description: spec.description, unit: spec.unit };
      const full = METRIC_PREFIX + name;
      if (spec.kind === 'counter') this.#counters.set(name, meter.createCounter(full, options));
      else if (spec.kind === 'histogram')
        this.#histograms.set(
          name,
          meter.createHistogram(full, {
            ...options,
            advice: { explicitBucketBoundaries: LATENCY_BUCKETS_MS },
          }),
        );
      else gaugeNames.push(name);
    }
    const observables = new Map(
      gaugeNames.map((name) => [
        name,
        meter.createObservableGauge(METRIC_PREFIX + name, {
          description: specs[name]!.description,
          unit: specs[name]!.unit,
        }),
      ]),
    );
    meter.addBatchObservableCallback(
      (result) => {
        for (const gauge of options.gauges()) {
          const observable = observables.get(gauge.name);
          if (observable) result.observe(observable, gauge.value, gauge.labels as Attributes);
        }
      },
      [...observables.values()],
    );
    // Unlabelled counters start at 0, so their series exists before the first increase.
    for (const [name, counter] of this.#counters)
      if (specs[name]!.labels.length === 0) counter.add(0);
  }

  add(name: string, labels: Labels, value: number): void {
    this.#counters.get(name)?.add(value, labels);
  }

  record(name: string, labels: Labels, value: number): void {
    this.#histograms.get(name)?.record(value, labels);
  }

  /**
   * Pushes the current figures over OTLP now (a stopping worker's last interval).
   * @param timeoutMs how long the push may take; past it the worker stops without it
   * @returns once pushed, or the time is up; never rejects
   */
  async flush(timeoutMs: number): Promise<void> {
    const timer = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
    await Promise.race([this.#provider.forceFlush().catch(() => undefined), timer]);
  }

  /** Exports what is pending (OTLP) and stops the readers. */
  async shutdown(): Promise<void> {
    await this.#provider.shutdown();
  }
}

function positive(raw: string | undefined, fallback: number): number {
  const value = Number(raw);
  return raw && Number.isFinite(value) && value > 0 ? value : fallback;
}
