/**
 * Which prepared audio a greeting is spoken with, and the preparing of it while nobody waits: a
 * caller's own greeting after their call (stored beside its text), and the phrases every new
 * caller hears, once per process. A miss is never an error: the session's TTS says the text.
 */
import { LatencyWindow } from '../lib/latency-window.js';
import type { Logger } from '../lib/logger.js';
import { describeError } from '../lib/redact.js';
import type { GreetingAudio } from '../store/greeting-store.js';
import { type GreetingAudioCache, phraseEntry } from './greeting-audio-cache.js';
import type { GreetingSynthesizer } from './greeting-audio.js';
import type { GreetingCache } from './greeting-cache.js';

export interface GreetingAudioServiceOptions {
  synthesizer: GreetingSynthesizer;
  /** The greetings' cache: a caller's audio goes to both its levels. */
  cache: GreetingCache;
  /** The process level, where the phrases are kept. */
  audio: GreetingAudioCache;
  logger?: Logger | undefined;
  secrets?: readonly string[] | undefined;
}

export interface GreetingAudioStats {
  /** Greetings spoken from prepared audio. */
  hits: number;
  /** Greetings that had none with the right key: spoken by the session's TTS. */
  misses: number;
  prepared: number;
  failures: number;
  /** Bytes and entries of audio held in process memory. */
  bytes: number;
  entries: number;
  /** Time to synthesise and store one greeting's audio. */
  prepareMs: { p50: number | null; p95: number | null };
}

export class GreetingAudioService {
  readonly #preparing = new Map<string, Promise<boolean>>();
  readonly #prepareMs = new LatencyWindow();
  #counts = { hits: 0, misses: 0, prepared: 0, failures: 0 };

  /** @param options the synthesizer, both caches, where failures are logged */
  constructor(private readonly options: GreetingAudioServiceOptions) {}

  /**
   * The audio to say a caller's greeting with, counted as a hit or a miss.
   * @param text the greeting as it will be spoken
   * @param candidate the audio the greeting cache answered with (a caller's), if any
   * @returns audio with this text's and voice's key, or undefined
   */
  find(text: string, candidate?: GreetingAudio): GreetingAudio | undefined {
    const key = this.options.synthesizer.keyFor(text);
    const audio =
      candidate?.key === key ? candidate : this.options.audio.get(phraseEntry(key), key);
    if (audio) this.#counts.hits++;
    else this.#counts.misses++;
    return audio;
  }

  /**
   * Synthesises a caller's greeting and keeps it at both levels. Concurrent calls for one caller
   * and text share one request.
   * @param userId the caller's identity
   * @param text their greeting, as stored
   * @returns whether the store kept it; never rejects (a failure is logged once and counted)
   */
  prepare(userId: string, text: string): Promise<boolean> {
    return this.#once(JSON.stringify([userId, text]), async () => {
      const audio = await this.options.synthesizer.synthesize(text);
      return this.options.cache.setAudio(userId, text, audio);
    });
  }

  /**
   * Synthesises the phrases any caller may hear (new-caller, generic) into process memory.
   * @param texts the phrases
   * @returns once each is kept or failed; never rejects
   */
  async preparePhrases(texts: readonly string[]): Promise<void> {
    await Promise.all(
      texts.map((text) => {
        const key = this.options.synthesizer.keyFor(text);
        if (this.options.audio.get(phraseEntry(key), key)) return true;
        return this.#once(key, async () => {
          const audio = await this.options.synthesizer.synthesize(text);
          // Phrases live as long as the process: they say nothing about anyone.
          this.options.audio.set(phraseEntry(key), audio, 0);
          return true;
        });
      }),
    );
  }

  /** @returns hits, misses, preparations and their time, bytes held in process memory */
  stats(): GreetingAudioStats {
    const { p50, p95 } = this.#prepareMs.percentiles();
    const { bytes, entries } = this.options.audio.stats();
    return { ...this.#counts, bytes, entries, prepareMs: { p50, p95 } };
  }

  #once(id: string, work: () => Promise<boolean>): Promise<boolean> {
    const running = this.#preparing.get(id);
    if (running) return running;
    const started = performance.now();
    const run = work()
      .then((kept) => {
        this.#counts.prepared++;
        this.#prepareMs.record(performance.now() - started);
        return kept;
      })
      .catch((error: unknown) => {
        this.#counts.failures++;
        this.options.logger?.warn(
          { error: describeError(error, this.options.secrets) },
          'greeting audio not prepared; the next call says the greeting with TTS',
        );
        return false;
      })
      .finally(() => this.#preparing.delete(id));
    this.#preparing.set(id, run);
    return run;
  }
}
