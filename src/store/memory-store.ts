/** What the memory store keeps, and the one interface every store adapter implements. */
import type { GreetingStore } from './greeting-store.js';

export const MEMORY_CATEGORIES = [
  'identity',
  'preference',
  'project',
  'relationship',
  'fact',
] as const;
export type MemoryCategory = (typeof MEMORY_CATEGORIES)[number];

/** Where a memory came from: the background extractor, or the caller asking to remember. */
export type MemorySource = 'extraction' | 'explicit';

/** One fact to save. (category, key) identifies it per user; a new value supersedes the old. */
export interface MemoryInput {
  category: MemoryCategory;
  /** Short stable slug, e.g. "name", "favorite_color", "current_project". */
  key: string;
  /** Self-contained fact, e.g. "Prefers to be called Maya". Stored as data, never as an instruction. */
  value: string;
  /** 0..1 */
  confidence: number;
  source: MemorySource;
}

/** A current (not superseded) memory as loaded for a user. */
export interface StoredMemory extends MemoryInput {
  createdAt: Date;
  updatedAt: Date;
}

export interface SaveResult {
  /** New keys. */
  inserted: number;
  /** Existing keys whose value changed: the old row is kept, closed with `valid_to`. */
  updated: number;
  /** Same value as the current one, or a batch already applied (replay). */
  unchanged: number;
  /** True when this batch id had been applied before and nothing was written. */
  replayed: boolean;
  /**
   * True when the caller asked to forget after this batch was heard (`heardAt`): nothing was
   * written, and nothing ever will be for this batch. Forgetting is a fence.
   */
  forgotten: boolean;
}

export interface MemoryStore {
  readonly kind: 'supabase' | 'postgres';
  /**
   * Saves a whole batch in one round trip, atomically. `batchId` makes it idempotent:
   * a batch id already applied for this user changes nothing. `heardAt` is when the earliest
   * turn behind the batch was heard (now, for "remember that"): a batch heard before the
   * caller's last forget is refused with `forgotten: true`, whichever process replays it.
   */
  save(
    userId: string,
    items: readonly MemoryInput[],
    batchId: string,
    heardAt: Date,
  ): Promise<SaveResult>;
  /**
   * The caller's current memories in one round trip: who they are (identity) first, then most
   * recently updated first.
   * @param userId the caller
   * @param limit most rows (default 50; 1 to 20,000: the store's own ceiling, whatever is asked)
   * @returns at most `limit` memories
   */
  load(userId: string, limit?: number): Promise<StoredMemory[]>;
  /** Deletes the given keys (all categories), or everything when `keys` is empty/undefined, history included. Returns rows deleted. */
  forget(userId: string, keys?: readonly string[]): Promise<number>;
  /** A cheap round trip for health checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A store call that failed, with the cause named for logs (never a credential). */
export class MemoryStoreError extends Error {
  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MemoryStoreError';
  }
}

/** One store serves both: memories and the shared level of the greeting cache. */
export type MemoryAndGreetingStore = MemoryStore & GreetingStore;
