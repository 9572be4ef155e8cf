/**
 * The shapes the migration's functions take and return, and their mapping to the store
 * interface: shared by the Postgres store (Date columns) and the Supabase store (ISO strings).
 */
import {
  type GreetingAudio,
  MAX_GREETING_AUDIO_BYTES,
  type StoredGreeting,
} from './greeting-store.js';
import {
  type MemoryCategory,
  type MemoryInput,
  type MemorySource,
  MemoryStoreError,
  type SaveResult,
  type StoredMemory,
} from './memory-store.js';

export interface MemoryRow {
  category: MemoryCategory;
  key: string;
  value: string;
  confidence: number;
  source: MemorySource;
  created_at: Date | string;
  updated_at: Date | string;
}

export interface GreetingRow {
  text: string;
  created_at: Date | string;
  expires_at: Date | string;
  stale: boolean;
  /** base64 (rows written before the audio migration, and rows without audio: absent or null). */
  audio?: string | null;
  audio_key?: string | null;
  audio_sample_rate?: number | null;
}

/** One `save_memories` item (a type alias, not an interface: it must pass as plain JSON). */
export type MemoryItem = {
  category: MemoryCategory;
  key: string;
  value: string;
  confidence: number;
  source: MemorySource;
};

/** `save_memories`' items: exactly the fields it reads, nothing a caller object carries besides. */
export function memoryItems(items: readonly MemoryInput[]): MemoryItem[] {
  return items.map(({ category, key, value, confidence, source }) => ({
    category,
    key,
    value,
    confidence,
    source,
  }));
}

/**
 * `save_memories`' heard time, as ISO 8601.
 * @param heardAt When the earliest turn behind the batch was heard.
 * @returns The time for the SQL parameter.
 * @throws MemoryStoreError with code 22023 (as the SQL answers a missing one) for an invalid
 *   date: a batch that can never be fenced must never be saved, nor retried as an outage.
 */
export function heardAtParam(heardAt: Date): string {
  if (!(heardAt instanceof Date) || Number.isNaN(heardAt.getTime())) {
    throw new MemoryStoreError(
      "save_memories failed: the batch's heard time is not a valid date",
      '22023',
    );
  }
  return heardAt.toISOString();
}

/**
 * What `save_memories` answers (JSON). `forgotten` is absent from records written before the
 * forget fence existed; `forgottenItems` counts items dropped by a forget (whole batch or keys).
 */
export interface SaveRow {
  inserted: number;
  updated: number;
  unchanged: number;
  replayed: boolean;
  forgotten?: boolean;
  forgottenItems?: number;
}

/**
 * The store interface's answer: exactly its fields, whatever else the SQL answers.
 * @param row `save_memories`' JSON result.
 * @returns The counts, with `forgotten` false unless the SQL said true.
 */
export function toSaveResult(row: SaveRow): SaveResult {
  return {
    inserted: row.inserted,
    updated: row.updated,
    unchanged: row.unchanged,
    replayed: row.replayed,
    forgotten: row.forgotten === true,
  };
}

/**
 * @param row a memory row as the store's functions return it
 * @returns the memory, dates parsed
 */
export function toStoredMemory(row: MemoryRow): StoredMemory {
  return {
    category: row.category,
    key: row.key,
    value: row.value,
    confidence: Number(row.confidence),
    source: row.source,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

/**
 * @param row a greeting row, or undefined when the store has none
 * @returns the greeting with its audio when stored, or undefined
 */
export function toStoredGreeting(row: GreetingRow | undefined): StoredGreeting | undefined {
  if (!row) return undefined;
  const greeting: StoredGreeting = {
    text: row.text,
    createdAt: new Date(row.created_at),
    expiresAt: new Date(row.expires_at),
    stale: row.stale,
  };
  if (row.audio && row.audio_key && row.audio_sample_rate) {
    greeting.audio = {
      key: row.audio_key,
      sampleRate: row.audio_sample_rate,
      // A copy into its own buffer at offset 0: small decodes share Node's pool at any offset,
      // and an Int16Array view needs an even one.
      pcm: new Uint8Array(Buffer.from(row.audio, 'base64')),
    };
  }
  return greeting;
}

/** `put_greeting_audio`'s audio arguments: the audio checked against its bounds, as base64. */
export interface GreetingAudioParams {
  key: string;
  sampleRate: number;
  base64: string;
}

/**
 * Checks prepared audio before it leaves the process (the SQL checks the same bounds again).
 * @param audio The audio to store.
 * @returns Its arguments for `put_greeting_audio`.
 * @throws MemoryStoreError with code 22023 when a bound of {@link GreetingAudio} is broken,
 *   the message naming which: an oversize greeting is never sent.
 */
export function greetingAudioParams(audio: GreetingAudio): GreetingAudioParams {
  const refuse = (why: string) => {
    throw new MemoryStoreError(`put_greeting_audio failed: ${why}`, '22023');
  };
  const bytes = audio.pcm.byteLength;
  if (bytes > MAX_GREETING_AUDIO_BYTES) {
    refuse(`${bytes} bytes of audio, over the ${MAX_GREETING_AUDIO_BYTES}-byte cap`);
  }
  if (bytes < 2 || bytes % 2 !== 0) refuse(`${bytes} bytes is not 16-bit PCM`);
  if (audio.key.length < 1 || audio.key.length > 512) {
    refuse('a key of 1 to 512 characters is required');
  }
  if (!Number.isInteger(audio.sampleRate) || audio.sampleRate < 8000 || audio.sampleRate > 48000) {
    refuse(`the sample rate must be a whole 8000 to 48000, not ${audio.sampleRate}`);
  }
  const pcm = Buffer.from(audio.pcm.buffer, audio.pcm.byteOffset, bytes);
  return { key: audio.key, sampleRate: audio.sampleRate, base64: pcm.toString('base64') };
}
