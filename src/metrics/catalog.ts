/**
 * Every instrument the worker exports, declared once: its name, kind, unit and the attribute keys
 * it may carry. Job processes report only names from this list (anything else is a malformed
 * report), and the main process builds its OpenTelemetry instruments from it.
 */

/** How a figure is kept in the main process. */
export type MetricKind =
  /** Job processes send increases since their last report; the main process adds them. */
  | 'counter'
  /** Job processes send raw observations; the main process records each one. */
  | 'histogram'
  /** Job processes send the current value; live processes are combined, a gone one drops out. */
  | 'gauge';

/** How a gauge's values from the live job processes are combined into one (gauges only). */
export type GaugeAggregate =
  /** Added up: connections, queue depths, processes seeing a status. */
  | 'sum'
  /** The highest: a worst latency, or a budget every process has alike. */
  | 'max';

export interface MetricSpec {
  kind: MetricKind;
  description: string;
  /** UCUM, as OpenTelemetry writes it (`ms`, `{request}`). */
  unit: string;
  /** The attribute keys a report may use; any other key makes the report malformed. */
  labels: readonly string[];
  /** Gauges only: how live processes' values combine. @default 'sum' */
  aggregate?: GaugeAggregate;
}

/** Prefix of every name, so that the worker's series sort together in Prometheus. */
export const METRIC_PREFIX = 'memory_agent_';

const counter = (unit: string, description: string, labels: string[] = []): MetricSpec => ({
  kind: 'counter',
  unit,
  description,
  labels,
});
const gauge = (unit: string, description: string, labels: string[] = []): MetricSpec => ({
  kind: 'gauge',
  unit,
  description,
  labels,
});
/** A gauge whose live processes' values combine as their highest, never their sum. */
const highest = (unit: string, description: string, labels: string[] = []): MetricSpec => ({
  ...gauge(unit, description, labels),
  aggregate: 'max',
});

/** What job processes report (the worker's own figures are in `WORKER_METRICS`). */
export const PROCESS_METRICS = {
  pool_requests: counter('{request}', 'HTTP requests sent through the pool', ['service']),
  pool_request_errors: counter('{request}', 'Pooled requests that failed or got a 5xx', [
    'service',
  ]),
  pool_request_duration: {
    kind: 'histogram',
    unit: 'ms',
    description: 'Time from a request to its response headers, per service and origin',
    labels: ['service', 'origin'],
  },
  pool_connections_opened: counter('{connection}', 'Connections the pool opened'),
  pool_tls_handshakes: counter('{handshake}', 'TLS handshakes of the pool'),
  pool_tls_sessions_resumed: counter('{handshake}', 'TLS handshakes that resumed a session'),
  pool_connect_errors: counter('{error}', 'Connection attempts that failed'),
  pool_connections_open: gauge('{connection}', 'Connections open now, per origin', ['origin']),
  pool_requests_in_flight: gauge('{request}', 'Requests running now', ['service']),
  pool_service_health: gauge(
    '{process}',
    'Job processes that see a service in each health status',
    ['service', 'status'],
  ),
  pool_lane_connections: gauge('{connection}', 'Connections open now in each lane', ['lane']),
  pool_lane_running: gauge('{request}', 'Requests holding a connection now, per lane', ['lane']),
  pool_lane_waiting: gauge('{request}', 'Requests waiting for a connection now, per lane', [
    'lane',
  ]),
  pool_lane_requests: counter('{request}', 'Requests sent through each lane', ['lane']),
  pool_lane_overflow_requests: counter('{request}', 'Requests sent on an overflow connection', [
    'lane',
  ]),
  pool_lane_waits: counter('{request}', 'Requests that waited for a connection', ['lane']),
  pool_lane_acquire_timeouts: counter('{request}', 'Requests that gave up waiting', ['lane']),
  pool_lane_recycled: counter(
    '{connection}',
    'Connections recycled for age: idle ones closed at once, busy ones when their request is done',
    ['lane'],
  ),
  pool_lane_max_wait: highest(
    'ms',
    'Longest wait for a connection in each lane, highest among live job processes',
    ['lane'],
  ),
  pool_lane_budget: highest(
    '{connection}',
    "Each lane's connections per origin and job process: base kept, overflow a burst may add",
    ['lane', 'budget'],
  ),
  pool_lane_acquire_timeout: highest(
    'ms',
    'How long a request may wait for a connection in each lane (absent: no bound of its own)',
    ['lane'],
  ),
  memory_queue_depth: gauge('{turn}', 'Turns waiting for extraction in process memory'),
  memory_outbox_depth: gauge('{entry}', 'Entries in the on-disk outbox'),
  memory_pending_batches: gauge('{batch}', 'Batches extracted and waiting for the store'),
  memory_turns_processed: counter('{turn}', 'Turns extracted'),
  memory_batches_stored: counter('{batch}', 'Batches written to the store'),
  memory_memories_stored: counter('{memory}', 'Memories inserted or updated'),
  memory_retries: counter('{retry}', 'Extraction and store retries'),
  memory_dead_letters: counter('{entry}', 'Entries set aside for good (dead letters)'),
  memory_failures: counter('{failure}', 'Memory failures per kind', ['kind']),
  memory_extraction_latency_p95: highest(
    'ms',
    'Highest 95th-percentile extraction latency among live job processes (5-minute window)',
  ),
  greeting_lookups: counter('{lookup}', 'Greeting cache lookups by result and level', [
    'result',
    'level',
  ]),
  greetings: counter('{greeting}', 'Greetings said, by where their text came from', ['source']),
  greeting_audio: counter('{greeting}', 'Greetings said from prepared audio (hit) or TTS (miss)', [
    'result',
  ]),
} as const satisfies Record<string, MetricSpec>;

export type ProcessMetricName = keyof typeof PROCESS_METRICS;

/** The main process's own figures, read from the framework's worker and the reports. */
export const WORKER_METRICS = {
  worker_active_jobs: gauge('{job}', 'Jobs running now'),
  worker_idle_processes: gauge('{process}', 'Prewarmed job processes with a built pool, idle'),
  worker_job_processes: gauge('{process}', 'Job processes reporting now'),
  worker_load: gauge('1', 'The load the framework reports to LiveKit (0–1, CPU by default)'),
  worker_draining: gauge('1', '1 while the worker drains (no new jobs)'),
  worker_registered: gauge('1', '1 while the worker is registered with LiveKit'),
  worker_info: gauge('1', '1, labelled with the id LiveKit gave the worker (once registered)', [
    'worker_id',
  ]),
  worker_jobs: counter('{job}', 'Jobs taken by job processes'),
  worker_job_processes_lost: counter(
    '{process}',
    'Job processes that disconnected without a final report (killed)',
  ),
  worker_reports_dropped: counter('{report}', 'Malformed job-process reports, dropped'),
} as const satisfies Record<string, MetricSpec>;

/**
 * @param name a name a report uses
 * @returns its spec, or undefined when the catalogue has no such process metric
 */
export function processMetric(name: string): MetricSpec | undefined {
  return Object.hasOwn(PROCESS_METRICS, name)
    ? PROCESS_METRICS[name as ProcessMetricName]
    : undefined;
}
