/** What each job process does: build the pool while idle, then serve one room. */
import { type JobContext, type JobProcess, log } from '@livekit/agents';
import type { CallerCall } from '../call/caller-call.js';
import { runCall } from '../call/run-call.js';
import { type Config, loadConfig } from '../config/config.js';
import type { Logger } from '../lib/logger.js';
import { describeError } from '../lib/redact.js';
import { type MemoryServices, createMemoryServices } from '../memory/memory-services.js';
import type { ProcessReporter } from '../metrics/process-reporter.js';
import { startProcessReporter } from '../metrics/start-reporter.js';
import { ConnectionPool } from '../pool/connection-pool.js';
import { createMemoryStore } from '../store/create-store.js';
import type { MemoryAndGreetingStore } from '../store/memory-store.js';

export interface JobProcessData extends Record<string, unknown> {
  config?: Config;
  pool?: ConnectionPool;
  services?: MemoryServices;
  prewarmedAt?: number;
  /** Reports this process's figures to the main process's `/metrics` (when it listens). */
  reporter?: ProcessReporter;
}

export interface ProcessResources {
  pool: ConnectionPool;
  services?: MemoryServices;
}

/**
 * The pool, with the memory store built on it in parallel with the other services, and the
 * memory and greeting services on top. A store that cannot be built leaves the process without
 * memory (logged), never without a voice.
 * @param config the validated configuration
 * @param logger where the build's problems are logged
 * @returns the pool, and the memory services when a store could be built
 */
export async function buildProcessResources(
  config: Config,
  logger: Logger,
): Promise<ProcessResources> {
  let store: MemoryAndGreetingStore | undefined;
  const pool = await ConnectionPool.create(config, {
    logger: logger.child({ component: 'connection-pool' }),
    memoryStore: (p) => {
      store = createMemoryStore(config, { supabase: p.supabase });
      return store;
    },
  });
  if (!store) {
    logger.error('no memory store could be built: calls go on without memory');
    return { pool };
  }
  const services = createMemoryServices(pool, config, store, { logger });
  // Turns a dead process left behind are processed here, in the background.
  void services.processor
    .replay()
    .catch((error: unknown) =>
      logger.warn({ error: describeError(error, pool.secrets) }, 'outbox replay failed'),
    );
  return { pool, services };
}

/**
 * The framework's `prewarm`: runs before any job reaches this process, so the pool is built off
 * the call's critical path. Never rejects: a failed prewarm leaves `entry` to build what is missing.
 * @param proc the framework's job process; the pool and services go into `proc.userData`
 */
export async function prewarmJobProcess(proc: JobProcess<JobProcessData>): Promise<void> {
  const logger = log().child({ component: 'prewarm' });
  try {
    const config = loadConfig();
    reporterOf(proc, config, logger);
    const { pool, services } = await buildProcessResources(config, logger);
    Object.assign(proc.userData, { config, pool, services, prewarmedAt: Date.now() });
    // The new-caller and generic greetings' speech, once per process, while no caller waits. Not
    // awaited: prewarm has 10 s in all, and a caller who comes first hears the TTS say them.
    void services?.greetings.prepareCommonAudio();
    logger.info(
      { timingsMs: pool.buildTimingsMs, health: healthSummary(pool) },
      'connection pool prewarmed',
    );
  } catch (error) {
    // A failed prewarm must not fail the process: entry builds what is missing.
    logger.error(
      { error: describeError(error) },
      'prewarm failed; the job will build its pool on entry',
    );
  }
}

/**
 * The framework's `entry`: serves one room. The caller is the first participant; their identity
 * (from the signed token) keys their memories. The pool and memory are closed by the shutdown
 * callback, on every ending (hang-up, failure, drain).
 * @param ctx the framework's job context; `ctx.proc.userData` holds what prewarm built
 * @returns once the session has started and the greeting is queued (the job runs on after)
 */
export async function runJob(ctx: JobContext<JobProcessData>): Promise<void> {
  const entryAt = Date.now();
  const logger = log().child({ component: 'job', room: ctx.job.room?.name, job: ctx.job.id });
  const config = ctx.proc.userData.config ?? loadConfig();
  const reporter = reporterOf(ctx.proc, config, logger);
  const warm = ctx.proc.userData.pool !== undefined;
  const { pool, services } = warm
    ? { pool: ctx.proc.userData.pool!, services: ctx.proc.userData.services }
    : await buildProcessResources(config, logger);
  if (!warm) Object.assign(ctx.proc.userData, { config, pool, services });
  logger.info(
    {
      warm,
      prewarmedMsAgo: warm ? entryAt - ctx.proc.userData.prewarmedAt! : null,
      readyInMs: Date.now() - entryAt,
    },
    'job entry',
  );
  reporter?.setState('job');

  // Filled once the caller is known; the shutdown callback may run before that.
  const opened: { call?: CallerCall } = {};
  // Runs on every ending (hang-up, failure, SIGTERM drain): memories first, then the pool.
  ctx.addShutdownCallback(async () => {
    try {
      try {
        if (opened.call) await opened.call.end();
        else await services?.processor.drain(config.memory.drainTimeoutMs);
      } finally {
        services?.outbox.close();
        await pool.close();
        logger.info({ stats: summary(pool) }, 'job resources closed');
      }
    } finally {
      // The last figures, even when closing failed (else the process would count as lost).
      reporter?.finish();
    }
  });

  await ctx.connect();
  const participant = await ctx.waitForParticipant();
  const { call } = await runCall({
    pool,
    config,
    services,
    // Identity comes from the signed room token, never from anything said in the call.
    userId: participant.identity,
    logger,
    connection: { room: ctx.room },
    inferenceExecutor: ctx.inferenceExecutor,
    onOpened: (opening) => (opened.call = opening),
  });
  logger.info(
    {
      greeting: call.greeting.source,
      greetingMs: call.greeting.elapsedMs,
      memories: call.memories.length,
      memoriesLoaded: call.memoriesLoaded,
      sinceEntryMs: Date.now() - entryAt,
    },
    'session started',
  );
}

function healthSummary(pool: ConnectionPool): Record<string, string> {
  const { services, otherHealth } = pool.stats();
  return {
    ...Object.fromEntries(
      Object.entries(services)
        .filter(([, s]) => s.configured)
        .map(([name, s]) => [name, s.health.status]),
    ),
    ...Object.fromEntries(Object.entries(otherHealth).map(([name, h]) => [name, h.status])),
  };
}

function summary(pool: ConnectionPool): Record<string, unknown> {
  const stats = pool.stats();
  return {
    requests: stats.services.openai.requests + stats.services.supabase.requests,
    connectionsOpened: stats.connections.opened,
    warmReuseRatio: stats.connections.warmReuseRatio,
  };
}

/**
 * The process's metrics reporter, started once and before its pool is built: the pool's warm-up
 * requests are timed too (undici's diagnostics channels are only heard once subscribed).
 * @param proc the job process; the reporter is kept in `proc.userData`
 * @param config the configuration
 * @param logger where a broken socket is noted
 * @returns the reporter, or undefined when the main process collects no metrics
 */
function reporterOf(
  proc: JobProcess<JobProcessData>,
  config: Config,
  logger: Logger,
): ProcessReporter | undefined {
  if (!proc.userData.reporter) {
    const reporter = startProcessReporter(config, () => proc.userData.pool?.stats(), logger);
    if (reporter) proc.userData.reporter = reporter;
  }
  return proc.userData.reporter;
}
