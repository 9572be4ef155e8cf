/** What each job process does: build the pool while idle, then serve one room. */
import { log, type JobContext, type JobProcess } from '@livekit/agents';
import { createAssistant } from './assistant.js';
import { loadConfig, type Config } from './config.js';
import { ConnectionPool } from './pool/connection-pool.js';
import { describeError } from './redact.js';
import { createAgentSession } from './voice-pipeline.js';

export interface JobProcessData extends Record<string, unknown> {
  config?: Config;
  pool?: ConnectionPool;
  prewarmedAt?: number;
}

export const GENERIC_GREETING = 'Hi there! How can I help you today?';

/** Runs before any job reaches this process: the pool is built off the call's critical path. */
export async function prewarmJobProcess(proc: JobProcess<JobProcessData>): Promise<void> {
  const logger = log().child({ component: 'prewarm' });
  try {
    const config = loadConfig();
    const pool = await ConnectionPool.create(config);
    proc.userData.config = config;
    proc.userData.pool = pool;
    proc.userData.prewarmedAt = Date.now();
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

export async function runJob(ctx: JobContext<JobProcessData>): Promise<void> {
  const logger = log().child({ component: 'job', room: ctx.job.room?.name });
  const config = ctx.proc.userData.config ?? loadConfig();
  const warm = ctx.proc.userData.pool !== undefined;
  const pool = ctx.proc.userData.pool ?? (await ConnectionPool.create(config));
  logger.info(
    { warm, prewarmedMsAgo: warm ? Date.now() - ctx.proc.userData.prewarmedAt! : null },
    'job entry',
  );
  ctx.addShutdownCallback(() => pool.close());

  await ctx.connect();
  const participant = await ctx.waitForParticipant();
  const session = createAgentSession(pool, config);
  await session.start({ agent: createAssistant({ pool }), room: ctx.room });
  logger.info({ participant: participant.identity }, 'session started');
  session.say(GENERIC_GREETING);
}

function healthSummary(pool: ConnectionPool): Record<string, string> {
  const { services } = pool.stats();
  return Object.fromEntries(
    Object.entries(services)
      .filter(([, s]) => s.configured)
      .map(([name, s]) => [name, s.health.status]),
  );
}
