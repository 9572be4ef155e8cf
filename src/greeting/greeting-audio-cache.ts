/**
 * The process level of prepared greeting audio: bounded by bytes, not entries (a greeting is
 * 100-400 KB of PCM). Entries are named by the caller (their personal greeting) or by the audio's
 * key (a phrase every new caller hears); each entry's own key still decides whether it fits.
 */
import { LRUCache } from 'lru-cache';
import type { GreetingAudio } from '../store/greeting-store.js';

export interface GreetingAudioCacheOptions {
  /**
   * Most bytes of PCM kept in process memory; the least recently used go first past it. Default
   * 16 MiB (some 40 greetings of 8 s). An entry larger than the whole cap is not kept. Must be > 0.
   */
  maxBytes?: number;
  /** How long an entry is kept. Default 24 h, the greeting's own TTL. Must be > 0. */
  ttlMs?: number;
  /** The clock (ms); `Date.now` unless a test moves time. */
  now?: () => number;
}

export interface GreetingAudioCacheStats {
  entries: number;
  bytes: number;
  maxBytes: number;
}

export class GreetingAudioCache {
  readonly #lru: LRUCache<string, GreetingAudio>;
  readonly #maxBytes: number;

  /** @param options the byte cap, TTL and clock */
  constructor(options: GreetingAudioCacheOptions = {}) {
    this.#maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
    const now = options.now ?? Date.now;
    this.#lru = new LRUCache<string, GreetingAudio>({
      maxSize: this.#maxBytes,
      // lru-cache refuses a size of 0: an empty PCM still counts one byte.
      sizeCalculation: (audio) => Math.max(1, audio.pcm.byteLength),
      ttl: options.ttlMs ?? 24 * 60 * 60_000,
      ttlAutopurge: false,
      ttlResolution: 0,
      perf: { now },
    });
  }

  /**
   * @param name the caller's or phrase's entry name ({@link callerEntry}, {@link phraseEntry})
   * @param key the key the audio must have (voice, model, rate and text); absent: any
   * @returns the audio when it is kept under that name (with that key)
   */
  get(name: string, key?: string): GreetingAudio | undefined {
    const audio = this.#lru.get(name);
    return key === undefined || audio?.key === key ? audio : undefined;
  }

  /**
   * @param name the entry name
   * @param audio the audio (replaces what the name held)
   * @param ttlMs how long it is kept instead of the cache's TTL (a store row's remaining time);
   *   0: until it is evicted (a phrase every caller may hear)
   */
  set(name: string, audio: GreetingAudio, ttlMs?: number): void {
    this.#lru.set(name, audio, ttlMs === undefined ? {} : { ttl: ttlMs });
  }

  /** @param name the entry to drop */
  delete(name: string): void {
    this.#lru.delete(name);
  }

  /** Drops every caller's entry; phrases stay (they hold nothing about anyone). */
  clearCallers(): void {
    for (const name of [...this.#lru.keys()]) if (!name.startsWith(PHRASE)) this.#lru.delete(name);
  }

  /** For pool cleanup: drops expired entries. */
  purgeStale(): boolean {
    return this.#lru.purgeStale();
  }

  /** @returns entries and bytes held now, and the byte cap */
  stats(): GreetingAudioCacheStats {
    return { entries: this.#lru.size, bytes: this.#lru.calculatedSize, maxBytes: this.#maxBytes };
  }
}

const PHRASE = 'phrase:';

/**
 * @param agent the agent's name
 * @param userId the caller's identity
 * @returns the entry name of the caller's personal greeting
 */
export const callerEntry = (agent: string, userId: string) =>
  `caller:${JSON.stringify([agent, userId])}`;

/**
 * @param key the audio's key
 * @returns the entry name of a phrase any caller may hear (new-caller, generic greeting)
 */
export const phraseEntry = (key: string) => `${PHRASE}${key}`;
