/**
 * Everything a job process needs to remember callers and greet them, built once per process on
 * its connection pool: the outbox, the extractor, the background processor and the greetings.
 * Their figures are reported in `pool.stats()`.
 */
import { join } from 'node:path';
import type { Config } from './config.js';
import { GreetingCache } from './greeting/greeting-cache.js';
import { GreetingGenerator } from './greeting/greeting-generator.js';
import { GreetingService } from './greeting/greeting-service.js';
import type { GreetingStore } from './greeting/greeting-store.js';
import { MemoryExtractor } from './memory/extractor.js';
import { Outbox } from './memory/outbox.js';
import { MemoryProcessor } from './memory/processor.js';
import type { MemoryStore } from './memory/types.js';
import type { ConnectionPool, Logger } from './pool/connection-pool.js';

/** One store serves both: memories and the shared level of the greeting cache. */
export type MemoryAndGreetingStore = MemoryStore & GreetingStore;

export interface MemoryServices {
  store: MemoryAndGreetingStore;
  outbox: Outbox;
  extractor: MemoryExtractor;
  processor: MemoryProcessor;
  greetings: GreetingService;
}

export interface MemoryServicesOptions {
  logger?: Logger;
  /** Overrides for tests: a controllable clock for the greeting cache, short delays. */
  now?: () => number;
  retryDelayMs?: number;
  minRetryDelayMs?: number;
}

export function outboxDirectory(config: Config): string {
  return join(config.dataDir, 'outbox');
}

export function createMemoryServices(
  pool: ConnectionPool,
  config: Config,
  store: MemoryAndGreetingStore,
  options: MemoryServicesOptions = {},
): MemoryServices {
  const { logger } = options;
  // Background work gets SDK retries; the voice path's client has none (the framework retries).
  const background = () => pool.openaiBackground;
  const outbox = new Outbox(outboxDirectory(config));
  const extractor = new MemoryExtractor(background, {
    model: config.openai.memoryModel,
    concurrency: config.memory.concurrency,
    timeoutMs: config.memory.extractionTimeoutMs,
    minRetryDelayMs: options.minRetryDelayMs,
  });
  const cache = new GreetingCache({
    agent: config.livekit.agentName || 'default',
    store,
    ttlMs: config.greeting.ttlSeconds * 1000,
    max: config.greeting.cacheSize,
    now: options.now,
  });
  const greetings = new GreetingService({
    cache,
    generator: new GreetingGenerator(background, {
      model: config.openai.llmModel,
      timeoutMs: config.openai.timeoutMs,
    }),
    budgetMs: config.greeting.budgetMs,
    logger: logger?.child({ component: 'greetings' }),
    secrets: pool.secrets,
  });
  const processor = new MemoryProcessor({
    store,
    extractor,
    outbox,
    logger: logger?.child({ component: 'memory' }),
    batchSize: config.memory.batchSize,
    batchDelayMs: config.memory.batchDelayMs,
    maxQueuedTurns: config.memory.maxQueuedTurns,
    retryDelayMs: options.retryDelayMs,
    secrets: pool.secrets,
    // New or changed facts make the prepared greeting out of date (the store marks its row
    // stale in the same round trip; this marks the copy in process memory).
    onStored: (userId, result) => {
      if (result.inserted + result.updated > 0) {
        void cache.invalidate({ userId, markStale: true, localOnly: true }).catch(() => undefined);
      }
    },
  });

  pool.registerCache('greetings', cache);
  pool.registerCache('extractions', extractor.cache);
  pool.registerStats('memory', () => ({
    store: store.kind,
    ...processor.stats(),
    extractor: { ...extractor.counters },
  }));
  pool.registerStats('greetings', () => greetings.stats());
  return { store, outbox, extractor, processor, greetings };
}
