/**
 * The recall indexes of the calls running in this job process, by caller: the memory processor
 * tells them when a fact is stored and when the caller forgets, so what a call retrieves from
 * stays what the store holds, without a round trip.
 */
import type { MemoryInput, StoredMemory } from '../../store/memory-store.js';
import { RecallIndex } from './recall-index.js';

/** One call's recall: its index, kept current until `close()`. */
export interface CallRecall {
  readonly index: RecallIndex;
  /**
   * Registers a listener for the caller's forgets, for as long as the call is open.
   * @param listener called after the caller forgot, with the keys forgotten (undefined:
   *   everything); the index has already dropped the facts
   */
  onForgotten(listener: (keys: readonly string[] | undefined) => void): void;
  /**
   * Registers a listener for the caller's stored facts, for as long as the call is open.
   * @param listener called after facts were stored, with them as the index now holds them (a
   *   new value has already replaced the old one with its category and key)
   */
  onStored(listener: (memories: readonly StoredMemory[]) => void): void;
  /** Stops the updates (at call end). */
  close(): void;
}

/**
 * Facts indexed per event-loop turn in the background: about 2 ms of work, 10 ms at worst with a
 * garbage collection (5,000 facts, this machine; bench: recall-at-scale).
 */
const BUILD_SLICE = 100;

interface OpenRecall {
  index: RecallIndex;
  forgotten: ((keys: readonly string[] | undefined) => void)[];
  stored: ((memories: readonly StoredMemory[]) => void)[];
}

/**
 * The process's open calls' indexes, by caller. The memory processor calls `stored` and
 * `forgotten` (wired in memory-services.ts); each call opens its own with `open` and closes it
 * at its end.
 */
export class LiveRecall {
  readonly #open = new Map<string, Set<OpenRecall>>();

  /** Calls whose index is kept current. */
  get openCalls(): number {
    let n = 0;
    for (const calls of this.#open.values()) n += calls.size;
    return n;
  }

  /**
   * @param userId the caller
   * @param memories what the store holds for them (loaded at session start)
   * @returns the call's recall, updated by `stored` and `forgotten` until closed
   */
  open(userId: string, memories: readonly StoredMemory[]): CallRecall {
    const entry: OpenRecall = {
      index: RecallIndex.of(memories),
      forgotten: [],
      stored: [],
    };
    const calls = this.#open.get(userId) ?? new Set();
    calls.add(entry);
    this.#open.set(userId, calls);
    let closed = false;
    // The full-text index is built a slice per event-loop turn while the call starts: no stall
    // for the greeting's audio; a turn that comes first builds the rest itself.
    const buildSlice = () => {
      if (!closed && entry.index.buildSome(BUILD_SLICE)) setImmediate(buildSlice);
    };
    setImmediate(buildSlice);
    return {
      index: entry.index,
      onForgotten: (listener) => void entry.forgotten.push(listener),
      onStored: (listener) => void entry.stored.push(listener),
      close: () => {
        closed = true;
        calls.delete(entry);
        if (calls.size === 0 && this.#open.get(userId) === calls) this.#open.delete(userId);
      },
    };
  }

  /**
   * Facts just stored for a caller (after the forget fence let them through).
   * @param userId the caller
   * @param items the facts as stored
   * @param at when they were stored
   */
  stored(userId: string, items: readonly MemoryInput[], at: Date = new Date()): void {
    if (items.length === 0) return;
    const memories = items.map((item) => ({ ...item, createdAt: at, updatedAt: at }));
    for (const call of this.#open.get(userId) ?? []) {
      call.index.add(memories);
      for (const listener of call.stored) listener(memories);
    }
  }

  /**
   * The caller forgot: the facts leave every open index at once, before the store is asked.
   * @param userId the caller
   * @param keys the keys forgotten; none or empty = everything
   */
  forgotten(userId: string, keys?: readonly string[]): void {
    for (const call of this.#open.get(userId) ?? []) {
      call.index.remove(keys);
      for (const listener of call.forgotten) listener(keys?.length ? keys : undefined);
    }
  }
}
