/**
 * The memory store on Supabase: supabase-js `rpc` (PostgREST) on the pool's client, so every
 * call goes through the pool's keep-alive dispatcher. Same SQL functions as the Postgres store.
 */
import type { SupabaseClient } from '@supabase/supabase-js';
import type { GreetingStore, StoredGreeting } from '../greeting/greeting-store.js';
import {
  MemoryStoreError,
  type MemoryCategory,
  type MemoryInput,
  type MemoryStore,
  type MemorySource,
  type SaveResult,
  type StoredMemory,
} from './types.js';

interface MemoryRow {
  category: MemoryCategory;
  key: string;
  value: string;
  confidence: number;
  source: MemorySource;
  created_at: string;
  updated_at: string;
}

interface GreetingRow {
  text: string;
  created_at: string;
  expires_at: string;
  stale: boolean;
}

export class SupabaseMemoryStore implements MemoryStore, GreetingStore {
  readonly kind = 'supabase' as const;

  constructor(private readonly client: SupabaseClient) {}

  async save(userId: string, items: readonly MemoryInput[], batchId: string): Promise<SaveResult> {
    const p_items = items.map(({ category, key, value, confidence, source }) => ({
      category,
      key,
      value,
      confidence,
      source,
    }));
    return this.call<SaveResult>('save_memories', {
      p_user_id: userId,
      p_batch_id: batchId,
      p_items,
    });
  }

  async load(userId: string, limit = 50): Promise<StoredMemory[]> {
    const rows = await this.call<MemoryRow[]>('load_memories', {
      p_user_id: userId,
      p_limit: limit,
    });
    return rows.map((row) => ({
      category: row.category,
      key: row.key,
      value: row.value,
      confidence: Number(row.confidence),
      source: row.source,
      createdAt: new Date(row.created_at),
      updatedAt: new Date(row.updated_at),
    }));
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
    const row = rows[0];
    return row
      ? {
          text: row.text,
          createdAt: new Date(row.created_at),
          expiresAt: new Date(row.expires_at),
          stale: row.stale,
        }
      : undefined;
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

  async invalidateGreetings(scope: {
    agent?: string;
    userId?: string;
    markStale?: boolean;
  }): Promise<number> {
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
