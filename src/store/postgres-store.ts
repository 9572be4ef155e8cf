/**
 * The memory store over the Postgres wire protocol (`postgres` driver, a small pool): for
 * `DATABASE_URL` (self-hosted Postgres or Supabase's connection string) and for the embedded
 * Postgres the main worker process starts. It calls the migration's SQL functions, as the
 * Supabase store does through PostgREST.
 */
import postgres, { type Sql } from 'postgres';
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
import { applyMigrations } from './migrations.js';
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

export interface PostgresStoreOptions {
  /** Connections in this process's pool (one job process rarely needs more than a few). */
  maxConnections?: number;
  connectTimeoutSeconds?: number;
  /** Apply pending migrations before the first call (the main process does; jobs do not). */
  applyMigrations?: boolean;
}

export class PostgresMemoryStore implements MemoryStore, GreetingStore {
  readonly kind = 'postgres' as const;

  /** Builds the store without a round trip: the driver connects on first use. */
  constructor(private readonly sql: Sql) {}

  static open(url: string, options: PostgresStoreOptions = {}): PostgresMemoryStore {
    const sql = postgres(url, {
      max: options.maxConnections ?? 4,
      idle_timeout: 60,
      connect_timeout: options.connectTimeoutSeconds ?? 5,
      onnotice: () => undefined,
      connection: { application_name: 'livekit-memory-agent' },
    });
    return new PostgresMemoryStore(sql);
  }

  /** Opens the store and checks it answers (applying migrations first when asked). */
  static async connect(
    url: string,
    options: PostgresStoreOptions = {},
  ): Promise<PostgresMemoryStore> {
    const store = PostgresMemoryStore.open(url, options);
    try {
      if (options.applyMigrations) await store.run('migrate', (sql) => applyMigrations(sql));
      await store.ping();
      return store;
    } catch (error) {
      await store.close();
      throw error;
    }
  }

  async save(
    userId: string,
    items: readonly MemoryInput[],
    batchId: string,
    heardAt: Date,
  ): Promise<SaveResult> {
    const payload = memoryItems(items);
    const [row] = await this.run(
      'save_memories',
      (sql) => sql<{ result: SaveRow }[]>`
        select public.save_memories(
          ${userId}, ${batchId}, ${sql.json(payload)}, ${heardAtParam(heardAt)}::timestamptz
        ) as result`,
    );
    return toSaveResult(row!.result);
  }

  async load(userId: string, limit = 50): Promise<StoredMemory[]> {
    const rows = await this.run(
      'load_memories',
      (sql) => sql<MemoryRow[]>`select * from public.load_memories(${userId}, ${limit})`,
    );
    return rows.map(toStoredMemory);
  }

  async forget(userId: string, keys?: readonly string[]): Promise<number> {
    const [row] = await this.run(
      'forget_memories',
      (sql) => sql<{ deleted: number }[]>`
        select public.forget_memories(${userId}, ${keys?.length ? [...keys] : null}::text[]) as deleted`,
    );
    return row!.deleted;
  }

  async getGreeting(agent: string, userId: string): Promise<StoredGreeting | undefined> {
    const [row] = await this.run(
      'get_greeting',
      (sql) => sql<GreetingRow[]>`select * from public.get_greeting(${agent}, ${userId})`,
    );
    return toStoredGreeting(row);
  }

  async putGreeting(
    agent: string,
    userId: string,
    text: string,
    ttlSeconds: number,
  ): Promise<void> {
    await this.run(
      'put_greeting',
      (sql) =>
        sql`select public.put_greeting(${agent}, ${userId}, ${text}, ${Math.ceil(ttlSeconds)})`,
    );
  }

  async putGreetingAudio(
    agent: string,
    userId: string,
    text: string,
    audio: GreetingAudio,
  ): Promise<boolean> {
    const { key, sampleRate, base64 } = greetingAudioParams(audio);
    const [row] = await this.run(
      'put_greeting_audio',
      (sql) => sql<{ stored: boolean }[]>`
        select public.put_greeting_audio(
          ${agent}, ${userId}, ${text}, ${key}, ${sampleRate}, ${base64}
        ) as stored`,
    );
    return row!.stored;
  }

  async invalidateGreetings(scope: GreetingScope): Promise<number> {
    const [row] = await this.run(
      'invalidate_greetings',
      (sql) => sql<{ affected: number }[]>`
        select public.invalidate_greetings(
          ${scope.agent ?? null}, ${scope.userId ?? null}, ${scope.markStale ?? false}
        ) as affected`,
    );
    return row!.affected;
  }

  async ping(): Promise<void> {
    await this.run('ping', (sql) => sql`select public.memory_store_ping()`);
  }

  /**
   * For prewarm: a call's entry loads memories and reads the greeting at once, so it needs two
   * connections, and each connection's first call of a function pays its preparation. Both
   * connections run both calls here (read-only), off the critical path. A failure costs only
   * the head start: the health check reports the store.
   */
  async warmUp(): Promise<void> {
    const nobody = 'prewarm';
    try {
      await Promise.all([this.load(nobody, 1), this.load(nobody, 1)]);
      await Promise.all([this.getGreeting(nobody, nobody), this.getGreeting(nobody, nobody)]);
    } catch {
      // The store is down or slow: ping and the health monitor say so.
    }
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 2 });
  }

  /** Runs one call; a failure becomes a MemoryStoreError naming the call and the cause, never the URL. */
  private async run<T>(call: string, query: (sql: Sql) => Promise<T>): Promise<T> {
    try {
      return await query(this.sql);
    } catch (error) {
      if (error instanceof MemoryStoreError) throw error;
      const code = errorCode(error);
      const message = error instanceof Error ? error.message : String(error);
      throw new MemoryStoreError(`${call} failed: ${message}`, code, { cause: error });
    }
  }
}

function errorCode(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return 'unknown';
}
