/**
 * The memory store on Supabase: supabase-js `rpc` (PostgREST) on the pool's client, so every
 * call goes through the pool's keep-alive dispatcher. Same SQL functions as the Postgres store.
 */
import type { SupabaseClient } from '@supabase/supabase-js';
import type {
  GreetingAudio,
  GreetingScope,
  GreetingStore,
  StoredGreeting,
} from './greeting-store.js';
import {
  type MemoryInput,
  type MemoryStore,
  MemoryStoreError,
  type SaveResult,
  type StoredMemory,
} from './memory-store.js';
import {
  type GreetingRow,
  type MemoryRow,
  type SaveRow,
  greetingAudioParams,
  heardAtParam,
  memoryItems,
  toSaveResult,
  toStoredGreeting,
  toStoredMemory,
} from './store-rows.js';

/** The user id the schema check loads (one row at most, dropped): any id would do. */
const SCHEMA_PROBE_USER = 'schema-check';

export class SupabaseMemoryStore implements MemoryStore, GreetingStore {
  readonly kind = 'supabase' as const;
  /** Set when PostgREST answered that `list_memories` does not exist: loads use `load_memories`. */
  #listMissing = false;

  constructor(private readonly client: SupabaseClient) {}

  async save(
    userId: string,
    items: readonly MemoryInput[],
    batchId: string,
    heardAt: Date,
  ): Promise<SaveResult> {
    const p_items = memoryItems(items);
    const row = await this.call<SaveRow>('save_memories', {
      p_user_id: userId,
      p_batch_id: batchId,
      p_items,
      p_heard_at: heardAtParam(heardAt),
    });
    return toSaveResult(row);
  }

  /**
   * One JSON value, not a set of rows: PostgREST's row cap (Supabase's "Max rows", 1,000 by
   * default) would cut a load at the call's cap (up to 20,000) short without a word.
   */
  async load(userId: string, limit = 50): Promise<StoredMemory[]> {
    const args = { p_user_id: userId, p_limit: limit };
    if (!this.#listMissing) {
      try {
        return (await this.call<MemoryRow[]>('list_memories', args)).map(toStoredMemory);
      } catch (error) {
        // A project whose schema predates list_memories (migration 20261201000300, not pushed
        // yet; the worker's start logs it once): memory still works, cut at PostgREST's rows.
        if (!(error instanceof MemoryStoreError && error.code === 'PGRST202')) throw error;
        this.#listMissing = true;
      }
    }
    return (await this.call<MemoryRow[]>('load_memories', args)).map(toStoredMemory);
  }

  /**
   * Whether the schema has `list_memories` (the load of a call's memories since migration
   * 20261201000300).
   * @returns false when PostgREST does not know the function (the migration is not pushed)
   * @throws {@link MemoryStoreError} when the store cannot be asked
   */
  async hasListMemories(): Promise<boolean> {
    try {
      await this.call<MemoryRow[]>('list_memories', { p_user_id: SCHEMA_PROBE_USER, p_limit: 1 });
      return true;
    } catch (error) {
      if (error instanceof MemoryStoreError && error.code === 'PGRST202') return false;
      throw error;
    }
  }

  async forget(userId: string, keys?: readonly string[]): Promise<number> {
    return this.call<number>('forget_memories', {
      p_user_id: userId,
      p_keys: keys?.length ? [...keys] : null,
    });
  }

  async getGreeting(agent: string, userId: string): Promise<StoredGreeting | undefined> {
    const rows = await this.call<GreetingRow[]>('get_greeting', {
      p_agent: agent,
      p_user_id: userId,
    });
    return toStoredGreeting(rows[0]);
  }

  async putGreeting(
    agent: string,
    userId: string,
    text: string,
    ttlSeconds: number,
  ): Promise<void> {
    await this.call<null>('put_greeting', {
      p_agent: agent,
      p_user_id: userId,
      p_text: text,
      p_ttl_seconds: Math.ceil(ttlSeconds),
    });
  }

  async putGreetingAudio(
    agent: string,
    userId: string,
    text: string,
    audio: GreetingAudio,
  ): Promise<boolean> {
    const { key, sampleRate, base64 } = greetingAudioParams(audio);
    return this.call<boolean>('put_greeting_audio', {
      p_agent: agent,
      p_user_id: userId,
      p_text: text,
      p_key: key,
      p_sample_rate: sampleRate,
      p_audio: base64,
    });
  }

  async invalidateGreetings(scope: GreetingScope): Promise<number> {
    return this.call<number>('invalidate_greetings', {
      p_agent: scope.agent ?? null,
      p_user_id: scope.userId ?? null,
      p_mark_stale: scope.markStale ?? false,
    });
  }

  async ping(): Promise<void> {
    await this.call<string>('memory_store_ping', {});
  }

  /** The client belongs to the pool, which closes its dispatcher. */
  async close(): Promise<void> {}

  private async call<T>(fn: string, args: Record<string, unknown>): Promise<T> {
    let result;
    try {
      result = await this.client.rpc(fn, args);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new MemoryStoreError(`${fn} failed: ${message}`, 'network', { cause: error });
    }
    if (result.error) {
      const { message, code } = result.error;
      throw new MemoryStoreError(
        `${fn} failed: ${message || `HTTP ${result.status}`}`,
        code || String(result.status),
      );
    }
    return result.data as T;
  }
}
