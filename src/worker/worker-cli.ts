/**
 * The main worker process: validate configuration before the framework sees it, then hand over
 * to `cli.runApp`. Every failure an operator can fix ends in one clear line, never a stack.
 */
import { AgentServer, cli, initializeLogger, log } from '@livekit/agents';
import { type Config, ConfigError, loadConfig } from '../config/config.js';
import { loadDotEnv } from '../config/dot-env.js';
import { secretsOf } from '../config/secrets.js';
import { describeError, redactUrl } from '../lib/redact.js';
import { ReportSocketError } from '../metrics/report-socket-path.js';
import { laneBudgetWarning } from '../pool/pool-lanes.js';
import { prepareMemoryStore } from '../store/prepare-store.js';
import { hardenShutdown } from './graceful-shutdown.js';
import { healthPortProblem } from './health-port.js';
import { metricsPortError } from './metrics-server.js';
import { quietExpectedFailures } from './quiet-expected-failures.js';
import { reapChildrenOnExit } from './reap-children.js';
import { serverOptionsFor } from './server-options.js';
import { describeFailure, waitForLiveKit } from './wait-for-livekit.js';
import { metricsPortProblem, startWorkerMetrics } from './worker-metrics.js';

const COMMANDS_THAT_CONNECT = new Set(['start', 'dev', 'connect']);

/**
 * The main process: `start`, `dev` and `connect` check the configuration, the health port and
 * the LiveKit server (one clear error, exit 1), prepare the memory store, then hand over to the
 * framework's CLI; other commands go straight to the CLI.
 * @param agentPath the agent module's file (the framework imports it in every job process)
 * @param argv the command line (`node dist/agent.js <command>`)
 */
export async function runWorker(
  agentPath: string,
  argv: readonly string[] = process.argv,
): Promise<void> {
  loadDotEnv();
  const command = argv[2];
  let config: Config | undefined;
  if (command && COMMANDS_THAT_CONNECT.has(command)) {
    try {
      config = loadConfig(process.env, { requireLiveKit: true });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      exitWith(error.message);
    }
    // Checked before anything starts: the framework binds it only after forking its processes.
    const portProblem = await healthPortProblem(config.livekit.healthPort);
    if (portProblem) exitWith(portProblem);
    const metricsPortFailure =
      config.metrics.port === undefined
        ? undefined
        : await metricsPortError(config.metrics.host, config.metrics.port);
    if (metricsPortFailure) exitWith(metricsPortProblem(config, metricsPortFailure));
    // The framework sets its logger up in runApp; the steps below log before, so set it up now.
    initializeLogger({ pretty: command === 'dev', level: config.logLevel });
    const logger = log().child({ component: 'worker' });
    const access = {
      url: config.livekit.url ?? '',
      apiKey: config.livekit.apiKey ?? '',
      apiSecret: config.livekit.apiSecret ?? '',
    };
    const failure = await waitForLiveKit(access, {
      maxRetry: config.livekit.maxRetry,
      logger,
      secrets: secretsOf(config),
    });
    if (failure) {
      logger.fatal(
        `${describeFailure(access, failure, secretsOf(config))} (gave up after ${config.livekit.maxRetry} retries, LIVEKIT_MAX_RETRY)`,
      );
      process.exit(1);
    }
    const starved = laneBudgetWarning(config);
    if (starved) logger.warn(starved);
    // Before any job process is forked: they inherit the environment this may extend.
    hardenShutdown(logger);
    const store = await prepareMemoryStore(
      config,
      log().child({ component: 'memory-store' }),
      process.env,
      { keepEmbeddedRunning: true },
    );
    // The embedded Postgres is left by its own exit hook (its last user stops it, never a kill),
    // and may outlive this worker while another uses it: neither it nor its watchdog is reaped.
    reapChildrenOnExit(() => (store.kind === 'embedded' ? store.ownPids() : []));
    // Before the framework forks: job processes inherit the report socket's path.
    await startWorkerMetrics(config, log().child({ component: 'metrics' })).catch(
      (error: unknown) =>
        exitWith(
          error instanceof ReportSocketError ? error.message : metricsPortProblem(config!, error),
        ),
    );
    // Last, right before the CLI installs its own signal handlers: listening earlier would take
    // the default action (exit) from a Ctrl-C while the store is being prepared.
    const stopping = stopSignalSeen();
    explainRunFailure(config, stopping);
    if (command !== 'dev') quietExpectedFailures(stopping);
  }

  cli.runApp(serverOptionsFor(agentPath, config));
}

/** @returns whether SIGINT or SIGTERM has arrived since this call */
function stopSignalSeen(): () => boolean {
  let seen = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => (seen = true));
  return () => seen;
}

/** One line on stderr for the operator, exit 1 (nothing has started yet). */
function exitWith(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

/**
 * The framework's CLI drops the reason its worker stopped ("closing worker due to error."). This
 * wraps `run` once, here in the main process: a worker that lost its LiveKit server for good says
 * which and why; a stop signal that lands while the worker is still starting (a Ctrl-C in the
 * first seconds kills the processes being forked) is a stop, not an error, and is left to the
 * CLI's signal handler.
 */
function explainRunFailure(config: Config, stopping: () => boolean): void {
  const run = AgentServer.prototype.run;
  AgentServer.prototype.run = async function runAndExplain(this: AgentServer) {
    try {
      return await run.call(this);
    } catch (error) {
      if (stopping()) return;
      const cause = describeError(error, secretsOf(config));
      log().fatal(
        /LiveKit server/.test(cause)
          ? `lost the LiveKit server at ${redactUrl(config.livekit.url ?? '')}: ${cause}`
          : `the worker stopped on an error: ${cause}`,
      );
      throw error;
    }
  };
}
