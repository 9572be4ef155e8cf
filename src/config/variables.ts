/**
 * Every environment variable, declared once at the place its value lands in the configuration:
 * its name, its rule, its default and what its edge values mean. `Config` is derived from this
 * tree; `.env.example` documents the same variables for operators.
 */
import {
  LOG_LEVELS,
  TTS_VOICES,
  TURN_DETECTIONS,
  anyText,
  baseUrl,
  flag,
  integer,
  oneOf,
  optionalText,
  text,
  url,
} from './rules.js';
import { variable } from './variable.js';

export const VARIABLES = {
  livekit: {
    /** LiveKit server or Cloud project (`ws:`, `wss:`, `http:` or `https:`). Required by the worker. */
    url: variable('LIVEKIT_URL', url(['ws:', 'wss:', 'http:', 'https:']).optional()),
    /** API key of the project. Required by the worker. */
    apiKey: variable('LIVEKIT_API_KEY', optionalText),
    /** API secret of the project; never logged. Required by the worker. */
    apiSecret: variable('LIVEKIT_API_SECRET', optionalText),
    /**
     * Agent name for explicit dispatch. `''`: automatic dispatch to every new room.
     * @default ''
     */
    agentName: variable('LIVEKIT_AGENT_NAME', anyText.default('')),
    /**
     * Port of the worker's health server (1–65535; a port in use stops the worker).
     * @default 8081
     */
    healthPort: variable('HEALTH_PORT', integer(1, 65535).default(8081)),
    /**
     * Retries of the connection to LiveKit (2 s, 4 s … 10 s apart) before the worker gives up.
     * `0`: one attempt, no retry.
     * @default 10
     */
    maxRetry: variable('LIVEKIT_MAX_RETRY', integer(0, 1_000).default(10)),
    /**
     * Job processes kept started and prewarmed (pool built, connections warm) while no call
     * waits, each about 150 MB. Unset: the framework's default, one per core up to 4. At least 1:
     * the framework reads 0 as "the default".
     */
    idleProcesses: variable('NUM_IDLE_PROCESSES', integer(1, 64).optional()),
  },
  openai: {
    /**
     * API key; never logged. Required, except by commands that never call OpenAI.
     * @default '' (unset)
     */
    apiKey: variable('OPENAI_API_KEY', anyText.default('')),
    /**
     * Any OpenAI-compatible endpoint (`http:` or `https:`); trailing slashes are dropped.
     * @default 'https://api.openai.com/v1'
     */
    baseURL: variable(
      'OPENAI_BASE_URL',
      baseUrl(['http:', 'https:']).default('https://api.openai.com/v1'),
    ),
    /**
     * Conversation model.
     * @default 'gpt-4o-mini'
     */
    llmModel: variable('OPENAI_LLM_MODEL', text.default('gpt-4o-mini')),
    /**
     * Model of background memory extraction and greetings. Unset: `OPENAI_LLM_MODEL`.
     */
    memoryModel: variable('OPENAI_MEMORY_MODEL', optionalText),
    /**
     * Speech-to-text model.
     * @default 'gpt-4o-mini-transcribe'
     */
    sttModel: variable('OPENAI_STT_MODEL', text.default('gpt-4o-mini-transcribe')),
    /**
     * `true`: the streaming WebSocket API (lower latency, its own connection outside the pool).
     * @default false
     */
    sttRealtime: variable('OPENAI_STT_REALTIME', flag.default(false)),
    /**
     * Text-to-speech model.
     * @default 'gpt-4o-mini-tts'
     */
    ttsModel: variable('OPENAI_TTS_MODEL', text.default('gpt-4o-mini-tts')),
    /**
     * Voice of the text-to-speech model, one of {@link TTS_VOICES}.
     * @default 'alloy'
     */
    ttsVoice: variable('OPENAI_TTS_VOICE', oneOf(TTS_VOICES).default('alloy')),
    /**
     * Timeout of one OpenAI request, in ms (1 s to 10 min).
     * @default 30000
     */
    timeoutMs: variable('OPENAI_TIMEOUT_MS', integer(1_000, 600_000).default(30_000)),
  },
  voice: {
    /**
     * How the end of the caller's turn is decided. `model`: the framework's end-of-turn audio
     * model, which waits through a mid-sentence pause (it runs once per host, in the
     * framework's shared inference process). `vad`: silence alone; the turn ends half a second
     * after the voice activity detector hears the caller stop, so a long pause cuts them off.
     * The voice activity detector is the framework's bundled Silero either way.
     * @default 'model'
     */
    turnDetection: variable('TURN_DETECTION', oneOf(TURN_DETECTIONS).default('model')),
  },
  /** Both or neither; with both, the Supabase store (it wins over `DATABASE_URL`). */
  supabase: {
    /** Project URL (`http:` or `https:`); trailing slashes are dropped. */
    url: variable('SUPABASE_URL', baseUrl(['http:', 'https:']).optional()),
    /** Service-role key; never logged. */
    serviceRoleKey: variable('SUPABASE_SERVICE_ROLE_KEY', optionalText),
  },
  /** Any PostgreSQL (`postgres:` or `postgresql:`). Unset with no Supabase: the embedded one. */
  databaseUrl: variable('DATABASE_URL', url(['postgres:', 'postgresql:']).optional()),
  /**
   * Where the embedded PostgreSQL and the memory outbox keep their files.
   * @default './data'
   */
  dataDir: variable('MEMORY_DATA_DIR', text.default('./data')),
  /**
   * Port of the embedded PostgreSQL the main process starts when no store is configured.
   * `0`: any free port (job processes get its URL from the worker, never the port).
   * @default 0
   */
  embeddedPostgresPort: variable('EMBEDDED_POSTGRES_PORT', integer(0, 65535).default(0)),
  memory: {
    /**
     * Turns per extraction call (1–100).
     * @default 8
     */
    batchSize: variable('MEMORY_BATCH_SIZE', integer(1, 100).default(8)),
    /**
     * How long a partial batch waits for more turns, in ms. `0`: no waiting (a partial batch
     * goes on the next tick, with the turns queued by then).
     * @default 1500
     */
    batchDelayMs: variable('MEMORY_BATCH_DELAY_MS', integer(0, 60_000).default(1_500)),
    /**
     * Most extraction LLM calls in flight at once, per process (1–64).
     * @default 4
     */
    concurrency: variable('MEMORY_CONCURRENCY', integer(1, 64).default(4)),
    /**
     * Timeout of one extraction call, in ms (1 s to 2 min).
     * @default 15000
     */
    extractionTimeoutMs: variable(
      'MEMORY_EXTRACTION_TIMEOUT_MS',
      integer(1_000, 120_000).default(15_000),
    ),
    /**
     * How long session start waits for the caller's memories before going on without them, in
     * ms (at least 50: a store that is down must not hold up the call, nor a healthy one miss).
     * @default 1000
     */
    loadTimeoutMs: variable('MEMORY_LOAD_TIMEOUT_MS', integer(50, 10_000).default(1_000)),
    /**
     * At session end, how long memory processing may finish before the rest is left to the
     * outbox, in ms. `0`: no waiting: what is still queued is left to the outbox (calls already
     * in flight finish first).
     * @default 10000
     */
    drainTimeoutMs: variable('MEMORY_DRAIN_TIMEOUT_MS', integer(0, 120_000).default(10_000)),
    /**
     * Turns held in memory per process (at least 10); beyond it turns wait on disk.
     * @default 500
     */
    maxQueuedTurns: variable('MEMORY_MAX_QUEUED_TURNS', integer(10, 100_000).default(500)),
    /**
     * Connections per job process to Postgres (`DATABASE_URL` or embedded; 1–100).
     * @default 4
     */
    storeConnections: variable('MEMORY_STORE_CONNECTIONS', integer(1, 100).default(4)),
    /**
     * Most of a caller's memories a call loads at its start (one round trip; 1 to 20,000, the
     * store's own ceiling). Each turn then picks what goes in the prompt from these, locally.
     * Beyond the cap the oldest facts are not seen on that call (who the caller is always is).
     * @default 5000
     */
    loadCap: variable('MEMORY_LOAD_CAP', integer(1, 20_000).default(5_000)),
    /**
     * How many memories each turn adds to the prompt besides the pinned ones (the caller's
     * identity and what they asked to remember): the most relevant to the turn, then the
     * newest (1 to 50).
     * @default 8
     */
    promptFacts: variable('MEMORY_PROMPT_FACTS', integer(1, 50).default(8)),
  },
  greeting: {
    /**
     * How long a prepared greeting stays valid, in seconds (1 minute to 30 days).
     * @default 86400
     */
    ttlSeconds: variable('GREETING_TTL_SECONDS', integer(60, 30 * 24 * 3600).default(24 * 3600)),
    /**
     * Longest a caller waits for a personal greeting before hearing the generic one, in ms.
     * @default 150
     */
    budgetMs: variable('GREETING_BUDGET_MS', integer(10, 5_000).default(150)),
    /**
     * Greetings kept in each process's memory (the store holds the rest).
     * @default 1000
     */
    cacheSize: variable('GREETING_CACHE_SIZE', integer(1, 1_000_000).default(1_000)),
  },
  pool: {
    /**
     * Most connections open to one origin, both lanes together (an uncapped pool opens about
     * twice the concurrency): the voice lane's base and overflow, and background work the rest
     * (17 − 5 − 2 = 10, what every request shared before the lanes).
     * @default 17
     */
    connectionsPerOrigin: variable('POOL_CONNECTIONS_PER_ORIGIN', integer(1, 1_000).default(17)),
    /**
     * The voice lane's base: connections per origin kept for the session's STT, LLM and TTS,
     * which background work can never take. The background lane gets what the voice lane leaves
     * of `POOL_CONNECTIONS_PER_ORIGIN` (17 − 5 − 2 = 10 by default), always at least 1: when the
     * cap is too small for both lanes, the overflow shrinks first, then the base (a cap of 1
     * still gives each lane one connection: 2 in all).
     * @default 5
     */
    voiceConnections: variable('POOL_VOICE_CONNECTIONS', integer(1, 1_000).default(5)),
    /**
     * Connections per origin the voice lane may open beyond its base in a burst; they close once
     * idle (about a second) instead of staying warm. `0`: no overflow.
     * @default 2
     */
    voiceOverflow: variable('POOL_VOICE_OVERFLOW', integer(0, 1_000).default(2)),
    /**
     * How long a background request (extraction, greeting preparation, store, health check) may
     * wait for one of its lane's connections, in ms, before it fails with
     * `PoolAcquireError` (the memory processor retries the batch later). The voice lane
     * has no such bound: it never waits behind background work. 100 ms to 2 min.
     * @default 5000
     */
    acquireTimeoutMs: variable('POOL_ACQUIRE_TIMEOUT_MS', integer(100, 120_000).default(5_000)),
    /**
     * An idle connection older than this, in ms, is closed (and, on the voice lane, replaced by
     * a warm one in the background), so long-lived processes see DNS changes and rebalanced
     * front ends. A connection in use is never cut. `0`: never recycled; else 1 s to 1 day.
     * @default 3600000
     */
    maxConnectionAgeMs: variable(
      'POOL_MAX_CONNECTION_AGE_MS',
      integer(0, 86_400_000)
        .refine((ms) => ms === 0 || ms >= 1_000, 'must be 0 (never) or at least 1000')
        .default(3_600_000),
    ),
    /**
     * How long an idle connection stays open, in ms. At least 30 s: undici's default of 4 s
     * drops the warm connection in the pause between two turns.
     * @default 60000
     */
    keepAliveTimeoutMs: variable(
      'POOL_KEEP_ALIVE_TIMEOUT_MS',
      integer(30_000, 3_600_000).default(60_000),
    ),
    /**
     * TCP + TLS connect timeout, in ms.
     * @default 5000
     */
    connectTimeoutMs: variable('POOL_CONNECT_TIMEOUT_MS', integer(100, 60_000).default(5_000)),
    /**
     * While a process waits for its call, no connection stays idle longer than this, in ms,
     * without a cheap request over it: API front ends close idle connections after tens of
     * seconds, without a hint. `0`: off.
     * @default 20000
     */
    keepWarmMs: variable('POOL_KEEP_WARM_MS', integer(0, 3_600_000).default(20_000)),
    /**
     * Budget of each pool build step (client + warm-up request) in prewarm, in ms. At most
     * 8000: the framework kills a process whose prewarm takes 10 s.
     * @default 3000
     */
    initTimeoutMs: variable('POOL_INIT_TIMEOUT_MS', integer(100, 8_000).default(3_000)),
    /**
     * How long `close()` waits for requests in flight before it destroys connections, in ms.
     * `0`: destroy them at once, without waiting.
     * @default 5000
     */
    closeTimeoutMs: variable('POOL_CLOSE_TIMEOUT_MS', integer(0, 60_000).default(5_000)),
    /**
     * Interval of the health checks, in ms (1 s to 1 h).
     * @default 60000
     */
    healthCheckIntervalMs: variable(
      'HEALTH_CHECK_INTERVAL_MS',
      integer(1_000, 3_600_000).default(60_000),
    ),
  },
  metrics: {
    /**
     * Port of the worker's `/metrics` (Prometheus) and `/ready` endpoints (1–65535; a port in
     * use stops the worker). Unset: no metrics server (OTLP export still runs when
     * `OTEL_EXPORTER_OTLP_ENDPOINT` is set; the OTEL_* variables are read as the SDK reads them).
     * @default undefined (off)
     */
    port: variable('METRICS_PORT', integer(1, 65535).optional()),
    /**
     * Address the metrics server binds. `0.0.0.0`: every interface (a Prometheus in another
     * pod); the default keeps the figures on this host.
     * @default '127.0.0.1'
     */
    host: variable('METRICS_HOST', text.default('127.0.0.1')),
  },
  /**
   * Quietest level logged, one of {@link LOG_LEVELS}.
   * @default 'info'
   */
  logLevel: variable('LOG_LEVEL', oneOf(LOG_LEVELS).default('info')),
};
