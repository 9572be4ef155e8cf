/**
 * The public API: build the worker's parts without its CLI, in other code. The worker itself is
 * `node dist/agent.js start`. Exports marked `@internal` exist for this repository's tests and
 * benchmarks; they are left out of the published type declarations (`stripInternal`).
 */

// Configuration
export { ConfigError, loadConfig, type Config } from './config/config.js';
export { secretsOf } from './config/secrets.js';

// The connection pool
export * from './pool/index.js';

// One caller's call: the assistant, its voice session, memories and greeting around it
export { BASE_INSTRUCTIONS, MEMORY_INSTRUCTIONS, createAssistant } from './call/assistant.js';
export { type CallEndReport, type CallerCall, openCall } from './call/caller-call.js';
export { createAgentSession, type AgentSessionOptions } from './call/agent-session.js';
export { type CallConnection, type LiveCall, runCall } from './call/run-call.js';
export { createVoicePipeline } from './call/voice-pipeline.js';
export { createMemoryTools } from './tools/memory-tools.js';
export { createPoolTools } from './tools/pool-tools.js';
export { describeCleanup, describePoolStats } from './tools/pool-summary.js';

// The job process: what `prewarm` and `entry` run
export { prewarmJobProcess, runJob } from './worker/job-process.js';
/** @internal The job process's build without the framework: the tests' and benchmarks' fixture. */
export { buildProcessResources } from './worker/job-process.js';

// Metrics for operators: what /metrics and the OTLP export hold (docs/operating.md)
export {
  METRIC_PREFIX,
  type MetricSpec,
  PROCESS_METRICS,
  WORKER_METRICS,
} from './metrics/catalog.js';
export { type StatsFigures, figuresOf } from './metrics/stats-figures.js';

// Memory: extraction in the background, the durable outbox, the services on a pool
export { type MemoryServices, createMemoryServices } from './memory/memory-services.js';
export { MemoryProcessor, type MemoryStats } from './memory/processor/processor.js';
export type { MemoryProcessorOptions } from './memory/processor/processor-options.js';
export { MemoryExtractor } from './memory/extraction/extractor.js';
// Per-turn retrieval of a caller's memories, local to the job process
export {
  type SelectMemoriesOptions,
  SELECTION_DEFAULTS,
  selectMemories,
} from './memory/recall/select-memories.js';
export type { Extractor } from './memory/extraction/extractor.js';
export { Outbox } from './memory/outbox/outbox.js';

// Greetings
export { GreetingCache } from './greeting/greeting-cache.js';
export { type Greeting, GreetingService } from './greeting/greeting-service.js';

// Stores
export {
  type MemoryAndGreetingStore,
  type MemoryInput,
  type MemoryStore,
  MemoryStoreError,
  type SaveResult,
  type StoredMemory,
} from './store/memory-store.js';
export type { GreetingStore } from './store/greeting-store.js';
export { createMemoryStore } from './store/create-store.js';
export { PostgresMemoryStore } from './store/postgres-store.js';
export { SupabaseMemoryStore } from './store/supabase-store.js';
export { type EmbeddedPostgres, startEmbeddedPostgres } from './store/embedded-postgres.js';
export { applyMigrations } from './store/migrations.js';
/** @internal Where the SQL migrations are read from (tests apply them to throwaway databases). */
export { MIGRATIONS_DIR } from './store/migrations.js';
