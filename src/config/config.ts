/**
 * Environment → one typed, validated configuration. Every problem is collected and reported in
 * one message that names each variable, so an operator fixes them all in one go.
 */
import type { TTSVoices } from '@livekit/agents-plugin-openai';
import { existsSync } from 'node:fs';
import { z } from 'zod';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export const TTS_VOICES = [
  'alloy',
  'ash',
  'ballad',
  'coral',
  'echo',
  'fable',
  'nova',
  'onyx',
  'sage',
  'shimmer',
] as const satisfies readonly TTSVoices[];

const optionalText = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

const url = (protocols: readonly string[]) =>
  z
    .string()
    .trim()
    .refine(
      (v) => {
        try {
          return protocols.includes(new URL(v).protocol);
        } catch {
          return false;
        }
      },
      `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`,
    );

const integer = (min: number, max: number) =>
  z.coerce
    .number({ message: 'must be a whole number' })
    .int('must be a whole number')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);

const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** The environment variables, their rules and their defaults. Documented in .env.example. */
const envSchema = z.object({
  LIVEKIT_URL: url(['ws:', 'wss:', 'http:', 'https:']).optional(),
  LIVEKIT_API_KEY: optionalText,
  LIVEKIT_API_SECRET: optionalText,
  LIVEKIT_AGENT_NAME: z.string().trim().default(''),
  HEALTH_PORT: integer(1, 65535).default(8081),
  LIVEKIT_MAX_RETRY: integer(0, 1_000).default(10),

  OPENAI_API_KEY: optionalText,
  OPENAI_BASE_URL: url(['http:', 'https:']).default('https://api.openai.com/v1'),
  OPENAI_LLM_MODEL: z.string().trim().min(1).default('gpt-4o-mini'),
  OPENAI_MEMORY_MODEL: optionalText,
  OPENAI_STT_MODEL: z.string().trim().min(1).default('gpt-4o-mini-transcribe'),
  OPENAI_STT_REALTIME: flag.default(false),
  OPENAI_TTS_MODEL: z.string().trim().min(1).default('gpt-4o-mini-tts'),
  OPENAI_TTS_VOICE: z
    .enum(TTS_VOICES, { message: `must be one of ${TTS_VOICES.join(', ')}` })
    .default('alloy'),
  OPENAI_TIMEOUT_MS: integer(1_000, 600_000).default(30_000),

  SUPABASE_URL: url(['http:', 'https:']).optional(),
  SUPABASE_SERVICE_ROLE_KEY: optionalText,
  DATABASE_URL: url(['postgres:', 'postgresql:']).optional(),
  MEMORY_DATA_DIR: z.string().trim().min(1).default('./data'),
  MEMORY_STORE_CONNECTIONS: integer(1, 100).default(4),
  // 0 = any free port (the embedded Postgres is only reached through the URL the worker hands its jobs).
  EMBEDDED_POSTGRES_PORT: integer(0, 65535).default(0),
  MEMORY_BATCH_SIZE: integer(1, 100).default(8),
  MEMORY_BATCH_DELAY_MS: integer(0, 60_000).default(1_500),
  MEMORY_CONCURRENCY: integer(1, 64).default(4),
  MEMORY_EXTRACTION_TIMEOUT_MS: integer(1_000, 120_000).default(15_000),
  // A store that is down at session start must not hold up the call.
  MEMORY_LOAD_TIMEOUT_MS: integer(50, 10_000).default(1_000),
  MEMORY_DRAIN_TIMEOUT_MS: integer(0, 120_000).default(10_000),
  MEMORY_MAX_QUEUED_TURNS: integer(10, 100_000).default(500),

  GREETING_TTL_SECONDS: integer(60, 30 * 24 * 3600).default(24 * 3600),
  GREETING_BUDGET_MS: integer(10, 5_000).default(150),
  GREETING_CACHE_SIZE: integer(1, 1_000_000).default(1_000),

  POOL_CONNECTIONS_PER_ORIGIN: integer(1, 1_000).default(10),
  // undici's default of 4 s drops the warm connection in the pause between two turns.
  POOL_KEEP_ALIVE_TIMEOUT_MS: integer(30_000, 3_600_000).default(60_000),
  POOL_CONNECT_TIMEOUT_MS: integer(100, 60_000).default(5_000),
  // API front ends close idle connections after tens of seconds, without a hint: a prewarmed
  // process waiting for its call keeps two per service warm by then. 0: off.
  POOL_KEEP_WARM_MS: integer(0, 3_600_000).default(20_000),
  // prewarm has 10 s in all (initializeProcessTimeout): each step gives up well inside it.
  POOL_INIT_TIMEOUT_MS: integer(100, 8_000).default(3_000),
  POOL_CLOSE_TIMEOUT_MS: integer(0, 60_000).default(5_000),
  HEALTH_CHECK_INTERVAL_MS: integer(1_000, 3_600_000).default(60_000),

  LOG_LEVEL: z
    .enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` })
    .default('info'),
});

type Env = z.infer<typeof envSchema>;

export interface Config {
  livekit: {
    url?: string | undefined;
    apiKey?: string | undefined;
    apiSecret?: string | undefined;
    agentName: string;
    healthPort: number;
    maxRetry: number;
  };
  openai: {
    apiKey: string;
    baseURL: string;
    llmModel: string;
    memoryModel: string;
    sttModel: string;
    sttRealtime: boolean;
    ttsModel: string;
    ttsVoice: TTSVoices;
    timeoutMs: number;
  };
  supabase?: { url: string; serviceRoleKey: string } | undefined;
  databaseUrl?: string | undefined;
  dataDir: string;
  /** Port for the embedded Postgres the main process starts when no store is configured (0 = any free). */
  embeddedPostgresPort: number;
  memory: {
    batchSize: number;
    batchDelayMs: number;
    concurrency: number;
    extractionTimeoutMs: number;
    loadTimeoutMs: number;
    drainTimeoutMs: number;
    maxQueuedTurns: number;
    storeConnections: number;
  };
  greeting: { ttlSeconds: number; budgetMs: number; cacheSize: number };
  pool: {
    connectionsPerOrigin: number;
    keepAliveTimeoutMs: number;
    connectTimeoutMs: number;
    keepWarmMs: number;
    initTimeoutMs: number;
    closeTimeoutMs: number;
    healthCheckIntervalMs: number;
  };
  logLevel: (typeof LOG_LEVELS)[number];
}

/** Thrown with every problem at once; `message` is fit to print as it is, without a stack. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n') +
        '\nSet them in the environment or in a .env file (see .env.example).',
    );
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  /** The worker needs LiveKit credentials; code that only builds the agent (tests, tools) does not. */
  requireLiveKit?: boolean;
  /** Operator commands that only reach the store do not need an OpenAI key. */
  requireOpenAI?: boolean;
}

export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  { requireLiveKit = false, requireOpenAI = true }: LoadConfigOptions = {},
): Config {
  // A blank value is unset, for every variable: `.env` files carry empty lines (`.env.example`
  // does), and a blank number must not silently become 0.
  env = Object.fromEntries(
    Object.entries(env).filter(([, value]) => typeof value !== 'string' || value.trim() !== ''),
  );
  const parsed = envSchema.safeParse(env);
  const problems: string[] = parsed.success
    ? []
    : parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`);
  const values = parsed.success ? parsed.data : undefined;
  const present = (name: keyof Env) => (env[name] ?? '').trim() !== '';

  if (requireOpenAI && !present('OPENAI_API_KEY')) problems.push('OPENAI_API_KEY is required');
  if (requireLiveKit) {
    for (const name of ['LIVEKIT_URL', 'LIVEKIT_API_KEY', 'LIVEKIT_API_SECRET'] as const) {
      if (!present(name)) problems.push(`${name} is required to register with LiveKit`);
    }
  }
  if (present('SUPABASE_URL') !== present('SUPABASE_SERVICE_ROLE_KEY')) {
    problems.push(
      present('SUPABASE_URL')
        ? 'SUPABASE_SERVICE_ROLE_KEY is required when SUPABASE_URL is set'
        : 'SUPABASE_URL is required when SUPABASE_SERVICE_ROLE_KEY is set',
    );
  }

  if (problems.length > 0 || !values) throw new ConfigError(problems);
  return toConfig(values);
}

function toConfig(env: Env): Config {
  return {
    livekit: {
      url: env.LIVEKIT_URL,
      apiKey: env.LIVEKIT_API_KEY,
      apiSecret: env.LIVEKIT_API_SECRET,
      agentName: env.LIVEKIT_AGENT_NAME,
      healthPort: env.HEALTH_PORT,
      maxRetry: env.LIVEKIT_MAX_RETRY,
    },
    openai: {
      apiKey: env.OPENAI_API_KEY ?? '',
      baseURL: env.OPENAI_BASE_URL.replace(/\/+$/, ''),
      llmModel: env.OPENAI_LLM_MODEL,
      memoryModel: env.OPENAI_MEMORY_MODEL ?? env.OPENAI_LLM_MODEL,
      sttModel: env.OPENAI_STT_MODEL,
      sttRealtime: env.OPENAI_STT_REALTIME,
      ttsModel: env.OPENAI_TTS_MODEL,
      ttsVoice: env.OPENAI_TTS_VOICE,
      timeoutMs: env.OPENAI_TIMEOUT_MS,
    },
    supabase:
      env.SUPABASE_URL && env.SUPABASE_SERVICE_ROLE_KEY
        ? {
            url: env.SUPABASE_URL.replace(/\/+$/, ''),
            serviceRoleKey: env.SUPABASE_SERVICE_ROLE_KEY,
          }
        : undefined,
    databaseUrl: env.DATABASE_URL,
    dataDir: env.MEMORY_DATA_DIR,
    memory: {
      batchSize: env.MEMORY_BATCH_SIZE,
      batchDelayMs: env.MEMORY_BATCH_DELAY_MS,
      concurrency: env.MEMORY_CONCURRENCY,
      extractionTimeoutMs: env.MEMORY_EXTRACTION_TIMEOUT_MS,
      loadTimeoutMs: env.MEMORY_LOAD_TIMEOUT_MS,
      drainTimeoutMs: env.MEMORY_DRAIN_TIMEOUT_MS,
      maxQueuedTurns: env.MEMORY_MAX_QUEUED_TURNS,
      storeConnections: env.MEMORY_STORE_CONNECTIONS,
    },
    embeddedPostgresPort: env.EMBEDDED_POSTGRES_PORT,
    greeting: {
      ttlSeconds: env.GREETING_TTL_SECONDS,
      budgetMs: env.GREETING_BUDGET_MS,
      cacheSize: env.GREETING_CACHE_SIZE,
    },
    pool: {
      connectionsPerOrigin: env.POOL_CONNECTIONS_PER_ORIGIN,
      keepAliveTimeoutMs: env.POOL_KEEP_ALIVE_TIMEOUT_MS,
      connectTimeoutMs: env.POOL_CONNECT_TIMEOUT_MS,
      keepWarmMs: env.POOL_KEEP_WARM_MS,
      initTimeoutMs: env.POOL_INIT_TIMEOUT_MS,
      closeTimeoutMs: env.POOL_CLOSE_TIMEOUT_MS,
      healthCheckIntervalMs: env.HEALTH_CHECK_INTERVAL_MS,
    },
    logLevel: env.LOG_LEVEL,
  };
}

/** Reads `.env` from the working directory into process.env when present (real env wins). */
export function loadDotEnv(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}

/** Every secret value in a config, for redaction. */
export function secretsOf(config: Config): string[] {
  return [
    config.openai.apiKey,
    config.livekit.apiKey,
    config.livekit.apiSecret,
    config.supabase?.serviceRoleKey,
    config.databaseUrl ? new URL(config.databaseUrl).password : undefined,
  ].filter((s): s is string => typeof s === 'string' && s.length >= 4);
}
