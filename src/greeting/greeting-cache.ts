/**
 * Two-level greeting cache: an in-process LRU with a TTL in front of the shared store level
 * (every job process and worker machine sees the same rows). Keys pair the agent and the caller
 * identity, so one caller's greeting is never served to another. The greeting's prepared audio
 * rides along: in the store's row, and in a process level of its own (bounded by bytes).
 */
import { LRUCache } from 'lru-cache';
import type { GreetingAudio, GreetingStore } from '../store/greeting-store.js';
import { type GreetingAudioCache, callerEntry } from './greeting-audio-cache.js';

export interface CachedGreeting {
  text: string;
  stale: boolean;
  level: 'memory' | 'store';
  /** The audio prepared for it, any key (the caller checks the key): from the level that answered. */
  audio?: GreetingAudio | undefined;
}

export interface GreetingCacheStats {
  hits: number;
  storeHits: number;
  misses: number;
  stale: number;
  expired: number;
  hitRate: number | null;
  size: number;
}

export interface GreetingCacheOptions {
  agent: string;
  store?: GreetingStore;
  ttlMs?: number;
  max?: number;
  now?: () => number;
  /** The process level of the greetings' audio; absent: audio is neither kept nor read. */
  audio?: GreetingAudioCache;
}

type Entry = { text: string; stale: boolean };

export class GreetingCache {
  readonly #lru: LRUCache<string, Entry>;
  readonly #store: GreetingStore | undefined;
  readonly #agent: string;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #audio: GreetingAudioCache | undefined;
  #counts = { hits: 0, storeHits: 0, misses: 0, stale: 0, expired: 0 };

  constructor(options: GreetingCacheOptions) {
    this.#agent = options.agent;
    this.#store = options.store;
    this.#ttlMs = options.ttlMs ?? 24 * 60 * 60_000;
    this.#now = options.now ?? Date.now;
    this.#audio = options.audio;
    const clock = this.#now;
    this.#lru = new LRUCache<string, Entry>({
      max: options.max ?? 1_000,
      ttl: this.#ttlMs,
      ttlAutopurge: false,
      // Read the clock on every lookup (the default caches it for 1 ms, which a test clock outruns).
      ttlResolution: 0,
      perf: { now: clock },
    });
  }

  /**
   * Looks in process memory, then in the store (which then fills process memory).
   * @param userId the caller's identity
   * @returns the greeting (possibly stale: due a refresh, still usable), or undefined when none
   *   is stored or it expired
   * @throws what the store throws; the greeting service treats that as a miss
   */
  async get(userId: string): Promise<CachedGreeting | undefined> {
    const key = this.#key(userId);
    const status: LRUCache.Status<string, Entry> = {};
    const local = this.#lru.get(key, { status });
    if (local) {
      this.#counts.hits++;
      if (local.stale) this.#counts.stale++;
      return { ...local, level: 'memory', audio: this.#audio?.get(this.#audioEntry(userId)) };
    }
    if (status.get === 'stale') this.#counts.expired++;
    const stored = this.#store ? await this.#store.getGreeting(this.#agent, userId) : undefined;
    if (!stored) {
      this.#counts.misses++;
      return undefined;
    }
    const remainingMs = stored.expiresAt.getTime() - this.#now();
    if (remainingMs <= 0) {
      this.#counts.expired++;
      this.#counts.misses++;
      return undefined;
    }
    this.#counts.storeHits++;
    if (stored.stale) this.#counts.stale++;
    this.#lru.set(key, { text: stored.text, stale: stored.stale }, { ttl: remainingMs });
    if (stored.audio) this.#audio?.set(this.#audioEntry(userId), stored.audio, remainingMs);
    else this.#audio?.delete(this.#audioEntry(userId));
    return { text: stored.text, stale: stored.stale, level: 'store', audio: stored.audio };
  }

  /**
   * Stores a caller's next greeting at both levels, with the cache's TTL.
   * @param userId the caller's identity
   * @param text a greeting that passed `checkGreeting`
   * @throws what the store throws (process memory is set already)
   */
  async set(userId: string, text: string): Promise<void> {
    const before = this.#lru.get(this.#key(userId));
    this.#lru.set(this.#key(userId), { text, stale: false });
    // As the store's put: a new text has no audio yet.
    if (before?.text !== text) this.#audio?.delete(this.#audioEntry(userId));
    await this.#store?.putGreeting(this.#agent, userId, text, Math.ceil(this.#ttlMs / 1000));
  }

  /**
   * Keeps a greeting's prepared audio at both levels.
   * @param userId the caller's identity
   * @param text the greeting the audio speaks: the store keeps it only beside that same text
   * @param audio the speech, keyed
   * @returns whether the store kept it (false: the row is gone or holds a newer text; true
   *   without a store)
   * @throws what the store throws (process memory is set already)
   */
  async setAudio(userId: string, text: string, audio: GreetingAudio): Promise<boolean> {
    const local = this.#lru.get(this.#key(userId));
    if (!local || local.text === text) this.#audio?.set(this.#audioEntry(userId), audio);
    return (await this.#store?.putGreetingAudio(this.#agent, userId, text, audio)) ?? true;
  }

  /**
   * One caller, this agent, or everything. `markStale` keeps greetings usable until refreshed
   * (memories changed); without it they are deleted (the caller asked to be forgotten).
   * @param scope `userId` (one caller) or all of this agent's; `allAgents` for every agent's;
   *   `localOnly` touches process memory alone (the store marked its row in the same round trip)
   * @returns rows affected in the store (0 when `localOnly`)
   */
  async invalidate(
    scope: { userId?: string; allAgents?: boolean; markStale?: boolean; localOnly?: boolean } = {},
  ): Promise<number> {
    const { userId, markStale = false } = scope;
    if (userId !== undefined) {
      const key = this.#key(userId);
      const entry = this.#lru.get(key);
      if (markStale && entry) this.#lru.set(key, { ...entry, stale: true }, { noUpdateTTL: true });
      else this.#lru.delete(key);
      // Stale keeps the audio, as it keeps the text it speaks.
      if (!markStale) this.#audio?.delete(this.#audioEntry(userId));
    } else if (markStale) {
      // Over a copy: each set moves its entry to the front, so the live iterator never ends.
      for (const [key, entry] of [...this.#lru.entries()])
        this.#lru.set(key, { ...entry, stale: true }, { noUpdateTTL: true });
    } else {
      this.#lru.clear();
      this.#audio?.clearCallers();
    }
    if (scope.localOnly) return 0;
    return (
      (await this.#store?.invalidateGreetings({
        agent: scope.allAgents ? undefined : this.#agent,
        userId,
        markStale,
      })) ?? 0
    );
  }

  /** For pool cleanup: drops expired entries. */
  purgeStale(): boolean {
    const audio = this.#audio?.purgeStale() ?? false;
    return this.#lru.purgeStale() || audio;
  }

  get size(): number {
    return this.#lru.size;
  }

  stats(): GreetingCacheStats {
    const c = this.#counts;
    const lookups = c.hits + c.storeHits + c.misses;
    return {
      ...c,
      hitRate: lookups === 0 ? null : Math.round(((c.hits + c.storeHits) / lookups) * 1000) / 1000,
      size: this.#lru.size,
    };
  }

  #audioEntry(userId: string): string {
    return callerEntry(this.#agent, userId);
  }

  #key(userId: string): string {
    // A separator that cannot occur in either part keeps ("a:b","c") and ("a","b:c") apart.
    return JSON.stringify([this.#agent, userId]);
  }
}
