/**
 * Everything a job process needs to remember callers and greet them, built once per process on
 * its connection pool: the outbox, the extractor, the background processor and the greetings.
 * Their figures are reported in `pool.stats()`.
 */
import { join } from 'node:path';
import type { Config } from '../config/config.js';
import { GreetingAudioCache } from '../greeting/greeting-audio-cache.js';
import { GreetingAudioService } from '../greeting/greeting-audio-service.js';
import { GreetingSynthesizer, greetingVoice } from '../greeting/greeting-audio.js';
import { GreetingCache } from '../greeting/greeting-cache.js';
import { GreetingGenerator } from '../greeting/greeting-generator.js';
import { GreetingService } from '../greeting/greeting-service.js';
import type { Logger } from '../lib/logger.js';
import type { ConnectionPool } from '../pool/connection-pool.js';
import type { MemoryAndGreetingStore } from '../store/memory-store.js';
import { MemoryExtractor } from './extraction/extractor.js';
import { Outbox } from './outbox/outbox.js';
import { MemoryProcessor } from './processor/processor.js';
import { LiveRecall } from './recall/live-recall.js';

export interface MemoryServices {
  store: MemoryAndGreetingStore;
  outbox: Outbox;
  extractor: MemoryExtractor;
  processor: MemoryProcessor;
  greetings: GreetingService;
  /** The running calls' recall indexes, kept current by the processor. */
  recall: LiveRecall;
}

/**
 * What a job process passes besides its configuration. Delays are not here on purpose: tests
 * build exactly what production builds, and fake the timers where they must not wait.
 */
export interface MemoryServicesOptions {
  logger?: Logger;
  /** The greeting cache's clock (ms since the epoch); `Date.now` unless a test moves time. */
  now?: () => number;
}

/** Name of the extraction service's entry in the pool's health view (`otherHealth`). */
export const EXTRACTION_HEALTH = 'memoryExtraction';

/**
 * @param config the validated configuration
 * @returns the outbox folder every process on this data directory shares
 */
export function outboxDirectory(config: Config): string {
  return join(config.dataDir, 'outbox');
}

/**
 * Builds a job process's memory and greeting services on its pool, and registers their figures
 * (`stats().components.memory`, `.greetings`) and the extraction's health with the pool.
 * @param pool the process's connection pool (clients, secrets, stats)
 * @param config the validated configuration: every delay and bound comes from it or a default
 * @param store the memory store built on the pool
 * @param options a logger; a clock for the greeting cache
 * @returns the services, ready; nothing runs until a turn is queued or `replay()` is called
 */
export function createMemoryServices(
  pool: ConnectionPool,
  config: Config,
  store: MemoryAndGreetingStore,
  options: MemoryServicesOptions = {},
): MemoryServices {
  const { logger, now } = options;
  // An absent logger or clock is left out, never passed as `undefined` over a default.
  const loggerFor = (component: string) => (logger ? { logger: logger.child({ component }) } : {});
  // Background work gets SDK retries; the voice path's client has none (the framework retries).
  const background = () => pool.openaiBackground;
  const outbox = new Outbox(outboxDirectory(config), loggerFor('outbox'));
  const extractor = new MemoryExtractor(background, {
    model: config.openai.memoryModel,
    concurrency: config.memory.concurrency,
    timeoutMs: config.memory.extractionTimeoutMs,
  });
  const ttlMs = config.greeting.ttlSeconds * 1000;
  // The greetings' speech, made ahead with the session's voice, kept beside their text.
  const audio = new GreetingAudioCache({ ttlMs, ...(now ? { now } : {}) });
  const cache = new GreetingCache({
    agent: config.livekit.agentName || 'default',
    store,
    ttlMs,
    max: config.greeting.cacheSize,
    audio,
    ...(now ? { now } : {}),
  });
  const greetings = new GreetingService({
    cache,
    audio: new GreetingAudioService({
      synthesizer: new GreetingSynthesizer(background, greetingVoice(config), {
        timeoutMs: config.openai.timeoutMs,
      }),
      cache,
      audio,
      logger: logger?.child({ component: 'greeting-audio' }),
      secrets: pool.secrets,
    }),
    generator: new GreetingGenerator(background, {
      model: config.openai.llmModel,
      timeoutMs: config.openai.timeoutMs,
    }),
    budgetMs: config.greeting.budgetMs,
    ...loggerFor('greetings'),
    secrets: pool.secrets,
  });
  const recall = new LiveRecall();
  const processor = new MemoryProcessor({
    store,
    extractor,
    outbox,
    ...loggerFor('memory'),
    batchSize: config.memory.batchSize,
    batchDelayMs: config.memory.batchDelayMs,
    maxQueuedTurns: config.memory.maxQueuedTurns,
    secrets: pool.secrets,
    // New or changed facts make the prepared greeting out of date (the store marks its row
    // stale in the same round trip; this marks the copy in process memory).
    onStored: (userId, result, items) => {
      if (result.inserted + result.updated > 0) {
        void cache.invalidate({ userId, markStale: true, localOnly: true }).catch(() => undefined);
      }
      // The caller's live calls retrieve the new facts from the next turn on.
      recall.stored(userId, items);
    },
    // Forgotten facts leave the live calls' prompts at once, before the store is asked.
    onForgotten: (userId, keys) => recall.forgotten(userId, keys),
  });

  pool.registerCache('greetings', cache);
  pool.registerCache('extractions', extractor.cache);
  pool.registerStats('memory', () => ({
    store: store.kind,
    ...processor.stats(),
    extractor: { ...extractor.counters },
    outbox: outbox.stats(),
  }));
  // Polled with the other services: degraded (then down) with the reason while extraction fails.
  pool.addHealthCheck(EXTRACTION_HEALTH, () => {
    const health = processor.extractionHealth();
    return health.status === 'healthy'
      ? Promise.resolve()
      : Promise.reject(new Error(health.reason ?? 'memory extraction is failing'));
  });
  pool.registerStats('greetings', () => greetings.stats());
  return { store, outbox, extractor, processor, greetings, recall };
}
