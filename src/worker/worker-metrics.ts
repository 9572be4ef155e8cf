/**
 * The main process's metrics, wired before the framework forks its job processes: the report
 * socket (its path inherited by every job process), the instruments, the framework worker's
 * figures, and the `/metrics` + `/ready` server when `METRICS_PORT` is set.
 */
import { AgentServer } from '@livekit/agents';
import type { Server } from 'node:http';
import type { Config } from '../config/config.js';
import type { Logger } from '../lib/logger.js';
import type { Sample } from '../metrics/process-report.js';
import { ReportHub } from '../metrics/report-hub.js';
import { WorkerMeter, otlpWanted } from '../metrics/worker-meter.js';
import { WorkerState } from '../metrics/worker-state.js';
import { startMetricsServer } from './metrics-server.js';

export interface WorkerMetrics {
  hub: ReportHub;
  meter: WorkerMeter;
  state: WorkerState;
  /** Present when `METRICS_PORT` is set. */
  server?: Server;
}

/**
 * Nothing is started unless `METRICS_PORT` or `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
 * @param config the validated configuration (health port, metrics host and port)
 * @param logger the worker's logger
 * @param env where the OTEL_* variables are read
 * @returns the parts, or undefined when metrics are off
 * @throws the metrics server's listen error (`EADDRINUSE`, `EACCES`)
 */
export async function startWorkerMetrics(
  config: Config,
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env,
): Promise<WorkerMetrics | undefined> {
  const otlp = otlpWanted(env);
  if (config.metrics.port === undefined && !otlp) return undefined;

  const state = new WorkerState(`http://127.0.0.1:${config.livekit.healthPort}/`);
  // The meter reads the hub's gauges, the hub adds to the meter's counters: tied once both exist.
  let gauges = (): Sample[] => [];
  // Each collection (scrape or OTLP export) asks the framework whether it is registered first.
  const meter = new WorkerMeter({
    gauges: async () => {
      await state.refresh();
      return gauges();
    },
    env,
    logger,
  });
  const hub = new ReportHub(meter, logger);
  gauges = () => [...hub.gauges(), ...workerGauges(state, hub)];
  await hub.listen();
  watchFrameworkWorker(state, meter);

  const metrics: WorkerMetrics = { hub, meter, state };
  if (config.metrics.port !== undefined) {
    metrics.server = await startMetricsServer(
      {
        metrics: (request, response) =>
          meter.prometheus.getMetricsRequestHandler(request, response),
        refreshReadiness: () => state.refresh(),
        notReadyBecause: () => notReadyBecause(state, hub),
      },
      config.metrics.host,
      config.metrics.port,
    );
    logger.info(
      { host: config.metrics.host, port: config.metrics.port, otlp },
      'metrics server listening (/metrics, /ready)',
    );
  }
  process.once('exit', () => hub.close());
  return metrics;
}

/**
 * @param state the framework worker's figures
 * @param hub the job processes' reports
 * @returns why the worker should get no traffic now; empty when ready
 */
export function notReadyBecause(state: WorkerState, hub: ReportHub): string[] {
  const reasons: string[] = [];
  if (!state.registered) reasons.push('not registered with LiveKit');
  if (state.draining) reasons.push('draining');
  // A process running a call cannot take the next one: readiness needs a free, warm one.
  if (hub.processes().idle === 0) reasons.push('no prewarmed idle job process with a built pool');
  return reasons;
}

function workerGauges(state: WorkerState, hub: ReportHub): Sample[] {
  const processes = hub.processes();
  const gauge = (name: string, value: number): Sample => ({ name, labels: {}, value });
  const info: Sample[] =
    state.workerId === undefined
      ? []
      : [{ name: 'worker_info', labels: { worker_id: state.workerId }, value: 1 }];
  return [
    ...info,
    gauge('worker_active_jobs', state.activeJobs),
    gauge('worker_idle_processes', processes.idle),
    gauge('worker_job_processes', processes.total),
    gauge('worker_load', state.load),
    gauge('worker_draining', state.draining ? 1 : 0),
    gauge('worker_registered', state.registered ? 1 : 0),
  ];
}

/** How long a drained worker may take to push its last figures over OTLP before it exits. */
const LAST_EXPORT_TIMEOUT_MS = 2_000;

/** Marks `AgentServer.prototype` once wrapped: a second start never wraps it twice. */
const WATCHED = Symbol.for('livekit-memory-agent.metrics.watched');
/** What the wrapped methods report to: the latest metrics started in this process. */
let watcher: { state: WorkerState; meter: WorkerMeter } | undefined;

/** The CLI builds the framework's worker itself: its `run` and `drain` are wrapped to see it. */
function watchFrameworkWorker(state: WorkerState, meter: WorkerMeter): void {
  watcher = { state, meter };
  const proto = AgentServer.prototype as AgentServer & { [WATCHED]?: true };
  if (proto[WATCHED]) return;
  proto[WATCHED] = true;
  const { run, drain } = AgentServer.prototype;
  proto.run = function runWatched(this: AgentServer) {
    watcher?.state.attach(this);
    return run.call(this);
  };
  proto.drain = async function drainWatched(this: AgentServer, timeout?: number) {
    watcher?.state.markDraining();
    await drain.call(this, timeout);
    // The calls are over: the last figures go out before the worker exits (OTLP only).
    await watcher?.meter.flush(LAST_EXPORT_TIMEOUT_MS);
  };
}

/**
 * @param config the configuration (metrics host and port)
 * @param error why the metrics server could not start
 * @returns the one line an operator needs
 */
export function metricsPortProblem(config: Config, error: unknown): string {
  const { host, port } = config.metrics;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE')
    return `the metrics port ${port} is already in use (${host}:${port}): set METRICS_PORT to a free port, or stop what holds it`;
  if (code === 'EACCES')
    return `the metrics port ${port} needs privileges this user lacks (${host}:${port}): set METRICS_PORT to 1024 or above`;
  return `the metrics server cannot start (${host}:${port}, ${code ?? String(error)}): check METRICS_HOST and METRICS_PORT`;
}
