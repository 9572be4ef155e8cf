/**
 * What a memory processor is built from and how it may be tuned, with the defaults production
 * runs on. Tests build processors with these same defaults and move time with fake timers.
 */
import type { Logger } from '../../lib/logger.js';
import type { MemoryInput, MemoryStore, SaveResult } from '../../store/memory-store.js';
import type { Extractor } from '../extraction/extractor.js';
import type { Outbox } from '../outbox/outbox.js';
import type { ProcessorSettings } from './processor-context.js';

export interface MemoryProcessorOptions {
  store: MemoryStore;
  /** Turns → memories (a `MemoryExtractor` in production). */
  extractor: Extractor;
  outbox: Outbox;
  /** Where faults, drops and drains are logged; none = silent (stats still count them). */
  logger?: Logger;
  /** Turns per extraction call. Default 8; at least 1. */
  batchSize?: number;
  /**
   * How long a partial batch waits for more turns, in ms. Default 1 500; 0 = on the next turn
   * of the event loop (turns enqueued together still share a batch).
   */
  batchDelayMs?: number;
  /**
   * Turns held in memory. Default 500 (the configuration accepts 10 to 100 000); beyond it turns
   * go to the outbox only, and are taken back once the queues are at most half full.
   */
  maxQueuedTurns?: number;
  /**
   * Extracted batches held in memory for the store. Default 100; at least 1 (0 would hold all
   * extraction back for good). Beyond it no more turns are extracted until the store takes some
   * (the turns wait in their queue, then on disk).
   */
  maxPendingBatches?: number;
  /** Called after a batch is stored (e.g. to refresh the caller's greeting); must not throw. */
  onStored?: (userId: string, result: SaveResult, items: readonly MemoryInput[]) => void;
  /**
   * Called as the caller's forget is fenced, before the store is asked (e.g. a live call drops
   * the facts from its prompt at once); must not throw. `keys` absent: everything.
   */
  onForgotten?: (userId: string, keys: readonly string[] | undefined) => void;
  /** Strings that never reach a log line or stats (API keys, database passwords). */
  secrets?: readonly string[];
}

/** Production's values for the options left out. */
export const PROCESSOR_DEFAULTS = {
  batchSize: 8,
  batchDelayMs: 1_500,
  maxQueuedTurns: 500,
  maxPendingBatches: 100,
} as const;

/**
 * @param options as given; an `undefined` field keeps its default
 * @returns every setting, defaults applied
 */
export function settingsOf(options: MemoryProcessorOptions): ProcessorSettings {
  return {
    store: options.store,
    extractor: options.extractor,
    outbox: options.outbox,
    logger: options.logger,
    onStored: options.onStored,
    onForgotten: options.onForgotten,
    batchSize: options.batchSize ?? PROCESSOR_DEFAULTS.batchSize,
    batchDelayMs: options.batchDelayMs ?? PROCESSOR_DEFAULTS.batchDelayMs,
    maxQueuedTurns: options.maxQueuedTurns ?? PROCESSOR_DEFAULTS.maxQueuedTurns,
    maxPendingBatches: options.maxPendingBatches ?? PROCESSOR_DEFAULTS.maxPendingBatches,
    secrets: options.secrets ?? [],
  };
}
