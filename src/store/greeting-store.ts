/** The shared level of the greeting cache: a row per (agent, caller) with its expiry, in the store. */

/**
 * The most audio a greeting row holds: 512 KiB, about 10 s of 16-bit mono PCM at 24 kHz (an
 * OpenAI TTS greeting of two sentences takes 3 to 5 s). Rows stay small enough to read on a
 * call's entry in one round trip. The migration's check constraint holds the same number.
 */
export const MAX_GREETING_AUDIO_BYTES = 512 * 1024;

/** A greeting's speech, prepared ahead: 16-bit little-endian mono PCM. */
export interface GreetingAudio {
  /**
   * What the audio was made with: TTS model, voice, sample rate, speed, format and the text's
   * hash. A lookup with another key is a miss. 1 to 512 characters.
   */
  key: string;
  /** Samples per second, 8,000 to 48,000. */
  sampleRate: number;
  /**
   * The samples: an even number of bytes, 2 to {@link MAX_GREETING_AUDIO_BYTES}. As read from
   * the store it has its own buffer at offset 0, so `new Int16Array(pcm.buffer)` views it.
   */
  pcm: Uint8Array;
}

export interface StoredGreeting {
  text: string;
  createdAt: Date;
  expiresAt: Date;
  /** Marked when the caller's memories changed since it was written: usable, but due a refresh. */
  stale: boolean;
  /** The text's prepared speech, when some was stored for this very text (absent otherwise). */
  audio?: GreetingAudio | undefined;
}

/** Which greetings an invalidation touches: absent agent or user means all of them. */
export interface GreetingScope {
  agent?: string | undefined;
  userId?: string | undefined;
  markStale?: boolean;
}

export interface GreetingStore {
  /**
   * The greeting stored for a caller, expired or not (the cache counts expiries), with its
   * audio when some is stored. One round trip.
   */
  getGreeting(agent: string, userId: string): Promise<StoredGreeting | undefined>;
  /** Writes a caller's greeting; a text unlike the stored one drops the stored audio. */
  putGreeting(agent: string, userId: string, text: string, ttlSeconds: number): Promise<void>;
  /**
   * Stores a greeting's prepared speech beside its row, in one round trip. The row keeps its
   * expiry; a stale mark keeps the audio, an invalidation or a forget deletes it with the row.
   * Each call also drops the audio of at most 10 expired greetings (of any caller), so audio
   * does not pile up for callers who never call back.
   * @param agent The agent the greeting belongs to.
   * @param userId The caller.
   * @param text The text the audio speaks: stored only if the row still holds this text (a newer
   *   greeting written meanwhile wins).
   * @param audio The speech and the key it was made with.
   * @returns true when stored; false when no row for (agent, caller) holds `text`.
   * @throws {@link MemoryStoreError} with code 22023 when the audio breaks the bounds on
   *   {@link GreetingAudio} (over {@link MAX_GREETING_AUDIO_BYTES}, odd length, rate or key out
   *   of range): nothing is sent or written. Any store failure, as the other calls.
   */
  putGreetingAudio(
    agent: string,
    userId: string,
    text: string,
    audio: GreetingAudio,
  ): Promise<boolean>;
  /**
   * Drops greetings: one caller (`userId`), one agent (`agent`), or all (neither). With
   * `markStale` they are kept but flagged for a refresh. Returns rows affected.
   */
  invalidateGreetings(scope: GreetingScope): Promise<number>;
}
