/**
 * Stand-ins for the memory processor's services, for the unit tier: a store that keeps facts in
 * a map (and can be made to hang), and an extractor that reads `key=value` from what the caller
 * said, taking as long as a test tells it to (on the fake clock).
 */
import type {
  ExtractionResult,
  Extractor,
  ExtractorCounters,
} from '../../../../src/memory/extraction/extractor.js';
import type { Turn } from '../../../../src/memory/outbox/outbox.js';
import type {
  MemoryInput,
  MemoryStore,
  SaveResult,
  StoredMemory,
} from '../../../../src/store/memory-store.js';

/** One `save` call as the store received it. */
export interface RecordedSave {
  userId: string;
  batchId: string;
  items: readonly MemoryInput[];
}

/** Keeps each caller's current facts by key; `hang()` makes every later save never answer. */
export class FakeStore implements MemoryStore {
  readonly kind = 'postgres' as const;
  readonly saves: RecordedSave[] = [];
  readonly #facts = new Map<string, Map<string, StoredMemory>>();
  #hanging = false;

  /** From now on, `save` never resolves (a database that stopped answering). */
  hang(): void {
    this.#hanging = true;
  }

  /** @returns the caller's current value for a key */
  valueOf(userId: string, key: string): string | undefined {
    return this.#facts.get(userId)?.get(key)?.value;
  }

  save(userId: string, items: readonly MemoryInput[], batchId: string): Promise<SaveResult> {
    if (this.#hanging) return new Promise(() => {});
    this.saves.push({ userId, batchId, items });
    const facts = this.#facts.get(userId) ?? new Map<string, StoredMemory>();
    let inserted = 0;
    let updated = 0;
    for (const item of items) {
      if (facts.has(item.key)) updated++;
      else inserted++;
      facts.set(item.key, { ...item, createdAt: new Date(), updatedAt: new Date() });
    }
    this.#facts.set(userId, facts);
    return Promise.resolve({ inserted, updated, unchanged: 0, replayed: false, forgotten: false });
  }

  load(userId: string): Promise<StoredMemory[]> {
    return Promise.resolve([...(this.#facts.get(userId)?.values() ?? [])]);
  }

  forget(userId: string): Promise<number> {
    const n = this.#facts.get(userId)?.size ?? 0;
    this.#facts.delete(userId);
    return Promise.resolve(n);
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** What the caller says to state a fact: `color=blue` (anything else holds no fact). */
export const fact = (key: string, value: string) => `${key}=${value}`;

/**
 * Answers each batch with the `key=value` facts its turns hold, after the next of `latenciesMs`
 * (then at once): timed by `setTimeout`, so a faked clock decides when an answer comes.
 */
export class FakeExtractor implements Extractor {
  readonly counters: ExtractorCounters = {
    calls: 0,
    retried: 0,
    coalesced: 0,
    cacheHits: 0,
    droppedInvalid: 0,
    inFlight: 0,
    maxInFlight: 0,
  };
  /** The batches asked about, in the order they were asked. */
  readonly batches: (readonly Turn[])[] = [];
  readonly #latenciesMs: number[];

  /** @param latenciesMs how long each call takes, in order; later calls answer at once */
  constructor(latenciesMs: number[] = []) {
    this.#latenciesMs = [...latenciesMs];
  }

  async extract(turns: readonly Turn[]): Promise<ExtractionResult> {
    this.counters.calls++;
    this.batches.push(turns);
    const latency = this.#latenciesMs.shift() ?? 0;
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
    const items = turns.flatMap((turn): MemoryInput[] => {
      const [key, value] = turn.userText.split('=');
      if (!key || !value) return [];
      return [{ category: 'preference', key, value, confidence: 0.9, source: 'extraction' }];
    });
    return { items, droppedInvalid: 0, dropped: {} };
  }

  probe(): Promise<boolean> {
    return Promise.resolve(true);
  }
}
