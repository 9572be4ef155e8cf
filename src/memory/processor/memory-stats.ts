/**
 * What `stats()` reports about memory processing, and the counters behind it (each part of the
 * processor counts where it happens; this only puts the figures together).
 */
import type { Percentiles } from '../../lib/latency-window.js';
import type { DropCounts } from '../extraction/dropped-items.js';
import type { ExtractionHealth } from '../extraction/extraction-triage.js';
import type { ExtractorCounters } from '../extraction/extractor.js';
import type { FaultKind, FaultLog, FaultRun } from './fault-log.js';
import type { RetrySnapshot } from './retry-timer.js';

export interface MemoryStats {
  queued: number;
  inFlight: number;
  /** Memories written (inserted or updated). */
  stored: number;
  turnsProcessed: number;
  batchesStored: number;
  storeCalls: number;
  failed: number;
  retried: number;
  droppedInvalid: number;
  /** Items of LLM answers not kept, per reason (invalid, or over the per-answer bound). */
  droppedItems: DropCounts;
  /** Batches, and turns before extraction, not stored because the caller forgot after they were heard. */
  fenced: number;
  /** Turns and facts refused for an identity the store cannot key. */
  refusedIdentities: number;
  deadLettered: number;
  spilled: number;
  outboxDepth: number;
  batchSizes: { last: number; max: number; average: number };
  extractionLatencyMs: Percentiles;
  /** Batches extracted and waiting for the store. */
  pendingBatches: number;
  /** Callers whose current memories are kept in process memory (bounded). */
  knownCallers: number;
  /** Failures per kind (store, extraction, outbox, background) since the process started. */
  failures: Record<FaultKind, number>;
  /** What is failing now: since when, how many failures, the last error. */
  failing: Partial<Record<FaultKind, FaultRun>>;
  /** The retry waiting for each service: attempts since its last success, when it runs next. */
  retry: { store: RetrySnapshot; extraction: RetrySnapshot };
  /** The extraction service: degraded, with the reason, while it fails. */
  extraction: ExtractionHealth;
  lastError?: string;
}

/** Counted where it happens, read by `stats()`. */
export interface ProcessorCounters {
  stored: number;
  turnsProcessed: number;
  batchesStored: number;
  storeCalls: number;
  storeRetries: number;
  deadLettered: number;
  fenced: number;
  refusedIdentities: number;
  droppedItems: DropCounts;
  spilled: number;
  inFlight: number;
  outboxDepth: number;
  lastBatch: number;
  maxBatch: number;
  batchTurnTotal: number;
  batchCount: number;
}

/** @returns every counter at zero */
export function newCounters(): ProcessorCounters {
  return {
    stored: 0,
    turnsProcessed: 0,
    batchesStored: 0,
    storeCalls: 0,
    storeRetries: 0,
    deadLettered: 0,
    fenced: 0,
    refusedIdentities: 0,
    droppedItems: {},
    spilled: 0,
    inFlight: 0,
    outboxDepth: 0,
    lastBatch: 0,
    maxBatch: 0,
    batchTurnTotal: 0,
    batchCount: 0,
  };
}

/** The figures `memoryStats` reads that are kept elsewhere than in the counters. */
export interface StatsSources {
  counters: ProcessorCounters;
  faults: FaultLog;
  extractor: Pick<ExtractorCounters, 'retried' | 'droppedInvalid'>;
  queued: number;
  pendingBatches: number;
  knownCallers: number;
  extractionLatencyMs: Percentiles;
  retry: MemoryStats['retry'];
  extraction: ExtractionHealth;
}

/**
 * @param from the counters and the parts' own figures, read now
 * @returns a snapshot (later counting does not change it)
 */
export function memoryStats(from: StatsSources): MemoryStats {
  const { counters: s, faults, extractor } = from;
  const lastError = faults.lastError;
  return {
    queued: from.queued,
    inFlight: s.inFlight,
    stored: s.stored,
    turnsProcessed: s.turnsProcessed,
    batchesStored: s.batchesStored,
    storeCalls: s.storeCalls,
    failed: faults.total,
    retried: extractor.retried + s.storeRetries,
    droppedInvalid: extractor.droppedInvalid,
    droppedItems: { ...s.droppedItems },
    fenced: s.fenced,
    refusedIdentities: s.refusedIdentities,
    deadLettered: s.deadLettered,
    spilled: s.spilled,
    outboxDepth: s.outboxDepth,
    batchSizes: {
      last: s.lastBatch,
      max: s.maxBatch,
      average: s.batchCount === 0 ? 0 : Math.round((s.batchTurnTotal / s.batchCount) * 10) / 10,
    },
    extractionLatencyMs: from.extractionLatencyMs,
    pendingBatches: from.pendingBatches,
    knownCallers: from.knownCallers,
    failures: faults.counts(),
    failing: faults.active(),
    retry: from.retry,
    extraction: from.extraction,
    ...(lastError === undefined ? {} : { lastError }),
  };
}
