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
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../lib/logger.js';
import { describeError } from '../lib/redact.js';
import { METRIC_PREFIX, type MetricSpec, PROCESS_METRICS, WORKER_METRICS } from './catalog.js';
import type { Labels, Sample } from './process-report.js';
import type { ReportSink } from './report-hub.js';

/** `service.name` when neither `OTEL_SERVICE_NAME` nor `OTEL_RESOURCE_ATTRIBUTES` names one. */
export const DEFAULT_SERVICE_NAME = 'livekit-memory-agent';

/** OTLP export interval when `OTEL_METRIC_EXPORT_INTERVAL` is unset (the SDK's default). */
const DEFAULT_EXPORT_INTERVAL_MS = 60_000;

/** Bucket bounds of latency histograms (ms): a turn's budget is a few hundred. */
const LATENCY_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000];

/** This process's `service.instance.id`: known at start, so no export ever waits for it. */
const INSTANCE_ID = randomUUID();

export interface WorkerMeterOptions {
  /** Every gauge's current value, read at each collection (scrape or export); may be async. */
  gauges: () => Sample[] | Promise<Sample[]>;
  /** The environment the OTel variables are read from. */
  env?: NodeJS.ProcessEnv;
  /** Where a failing OTLP export is logged (warn: the first failure, then each change). */
  logger?: Logger;
  /** The OTLP exporter (tests pass one); by default OTLP/HTTP configured by the OTEL_* variables. */
  exporter?: PushMetricExporter;
}

/**
 * OTLP export is on when an endpoint is set, unless the SDK's own switches turn it off.
 *
 * @param env where the OTEL_* variables are read
 * @returns whether to push metrics over OTLP/HTTP
 */
export function otlpWanted(env: NodeJS.ProcessEnv): boolean {
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT;
  const disabled = env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true';
  const exporters = (env.OTEL_METRICS_EXPORTER ?? '').toLowerCase().split(',');
  return Boolean(endpoint) && !disabled && !exporters.map((e) => e.trim()).includes('none');
}

export class WorkerMeter implements ReportSink {
  readonly prometheus: PrometheusExporter;
  /**
   * `service.name` and `service.instance.id` (this process, from its start): static, so the
   * first export never waits. LiveKit's worker id, known only at registration, is the
   * `worker_id` label of the `worker_info` gauge.
   */
  readonly resource: Resource;
  readonly #provider: MeterProvider;
  readonly #counters = new Map<string, Counter>();
  readonly #histograms = new Map<string, Histogram>();

  /** @param options where the gauges come from, where export failures are logged */
  constructor(options: WorkerMeterOptions) {
    const env = options.env ?? process.env;
    // Served by the worker's own HTTP server (with /ready), never a second one.
    this.prometheus = new PrometheusExporter({ preventServerStart: true });
    const readers: MetricReader[] = [this.prometheus];
    if (otlpWanted(env) || options.exporter) {
      readers.push(
        new PeriodicExportingMetricReader({
          // Endpoint, headers, timeout and compression: the exporter reads the OTEL_* variables.
          exporter: loggingFailures(
            options.exporter ?? new OTLPMetricExporter(),
            options.logger,
            secretsOf(env),
          ),
          exportIntervalMillis: positive(
            env.OTEL_METRIC_EXPORT_INTERVAL,
            DEFAULT_EXPORT_INTERVAL_MS,
          ),
        }),
      );
    }
    this.resource = resourceFromAttributes({
      'service.name': DEFAULT_SERVICE_NAME,
      'service.instance.id': INSTANCE_ID,
    }).merge(detectResources({ detectors: [envDetector] }));
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
      async (result) => {
        for (const gauge of await options.gauges()) {
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

  /**
   * @param name a counter of the catalogue (anything else is ignored)
   * @param labels its attributes
   * @param value the increase, never negative
   */
  add(name: string, labels: Labels, value: number): void {
    this.#counters.get(name)?.add(value, labels);
  }

  /**
   * @param name a histogram of the catalogue (anything else is ignored)
   * @param labels its attributes
   * @param value one observation (ms)
   */
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

/**
 * @param exporter the OTLP exporter
 * @param logger where failures go (warn)
 * @param secrets what never reaches the log (the OTLP headers' values)
 * @returns the exporter, logging its first failed export and then each change (failing ↔ working)
 */
function loggingFailures(
  exporter: PushMetricExporter,
  logger: Logger | undefined,
  secrets: string[],
): PushMetricExporter {
  let failing = false;
  const wrapped: PushMetricExporter = {
    forceFlush: () => exporter.forceFlush(),
    shutdown: () => exporter.shutdown(),
    export: () => undefined,
  };
  // The exporter's choices (cumulative temporality, the advised buckets) stay its own.
  if (exporter.selectAggregationTemporality)
    wrapped.selectAggregationTemporality = exporter.selectAggregationTemporality.bind(exporter);
  if (exporter.selectAggregation)
    wrapped.selectAggregation = exporter.selectAggregation.bind(exporter);
  wrapped.export = (metrics, done) =>
    exporter.export(metrics, (result) => {
      // ExportResultCode.SUCCESS is 0 (@opentelemetry/core, not a direct dependency).
      const failed = result.code !== 0;
      if (failed && !failing)
        logger?.warn(
          { error: describeError(result.error ?? 'export failed', secrets) },
          'OTLP metrics export failed (logged again once it works)',
        );
      else if (!failed && failing) logger?.warn('OTLP metrics export works again');
      failing = failed;
      done(result);
    });
  return wrapped;
}

/** The OTLP headers' values (API keys, bearer tokens): never logged. */
function secretsOf(env: NodeJS.ProcessEnv): string[] {
  const headers = [env.OTEL_EXPORTER_OTLP_HEADERS, env.OTEL_EXPORTER_OTLP_METRICS_HEADERS];
  return headers
    .flatMap((list) => (list ?? '').split(','))
    .map((pair) => pair.slice(pair.indexOf('=') + 1).trim())
    .flatMap((value) => [value, safeDecode(value)])
    .filter((value) => value.length >= 4);
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
