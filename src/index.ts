/** The public pieces: build the agent without the CLI (other code, tests, benchmarks). */
export { loadConfig, ConfigError, secretsOf, type Config } from './config.js';
export * from './pool/index.js';
export { createAssistant, BASE_INSTRUCTIONS, MEMORY_INSTRUCTIONS } from './assistant.js';
export { createVoicePipeline, createAgentSession } from './voice-pipeline.js';
export { createPoolTools } from './tools/pool-tools.js';
export { describePoolStats, describeCleanup } from './tools/pool-summary.js';
export { createMemoryTools } from './tools/memory-tools.js';
export { createMemoryServices, type MemoryServices } from './memory-services.js';
export { openCall, type CallerCall, type CallEndReport } from './caller-call.js';
export { buildProcessResources, prewarmJobProcess, runJob } from './job.js';
export { MemoryProcessor, type MemoryStats } from './memory/processor.js';
export { MemoryExtractor } from './memory/extractor.js';
export { Outbox } from './memory/outbox.js';
export type { MemoryStore, MemoryInput, StoredMemory, SaveResult } from './memory/types.js';
export { GreetingCache } from './greeting/greeting-cache.js';
export { GreetingService, type Greeting } from './greeting/greeting-service.js';
export type { GreetingStore } from './greeting/greeting-store.js';
