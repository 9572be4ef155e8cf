/**
 * What the parts of the memory processor share: its settings (defaults applied), one set of
 * counters behind `stats()`, where faults go, the forget fence and the callers' memories.
 */
import type { Logger } from '../../lib/logger.js';
import type { MemoryInput, MemoryStore, SaveResult } from '../../store/memory-store.js';
import type { Extractor } from '../extraction/extractor.js';
import type { Outbox } from '../outbox/outbox.js';
import { CallerMemories } from './caller-memories.js';
import { FaultLog } from './fault-log.js';
import { ForgetFence } from './forget-fence.js';
import { type ProcessorCounters, newCounters } from './memory-stats.js';

/** The processor's options with every default applied. */
export interface ProcessorSettings {
  readonly store: MemoryStore;
  readonly extractor: Extractor;
  readonly outbox: Outbox;
  readonly logger: Logger | undefined;
  readonly onStored:
    ((userId: string, result: SaveResult, items: readonly MemoryInput[]) => void) | undefined;
  readonly onForgotten: ((userId: string, keys: readonly string[] | undefined) => void) | undefined;
  readonly batchSize: number;
  readonly batchDelayMs: number;
  readonly maxQueuedTurns: number;
  readonly maxPendingBatches: number;
  readonly secrets: readonly string[];
}

export interface ProcessorContext {
  readonly settings: ProcessorSettings;
  readonly counters: ProcessorCounters;
  readonly faults: FaultLog;
  readonly fence: ForgetFence;
  readonly memories: CallerMemories;
  /** An outbox write failed: what it held stays in process memory only. */
  readonly outboxFailed: (error: unknown) => void;
}

/**
 * @param settings the processor's options, defaults applied
 * @returns the shared parts, every counter at zero
 */
export function createProcessorContext(settings: ProcessorSettings): ProcessorContext {
  const faults = new FaultLog(settings.logger, settings.secrets);
  return {
    settings,
    counters: newCounters(),
    faults,
    fence: new ForgetFence(),
    memories: new CallerMemories(settings.store),
    outboxFailed: (error) =>
      faults.report(
        'outbox',
        'memory outbox not writable (disk full?); memories kept in process memory only',
        error,
      ),
  };
}
