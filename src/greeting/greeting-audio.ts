/**
 * A greeting's speech, made ahead of the call with the session's TTS settings, so that the caller
 * hears it with no TTS request on entry. The key names everything the sound depends on: a lookup
 * with another voice, model, speed, rate or text is a miss, never a wrong greeting.
 */
import { createHash } from 'node:crypto';
import type OpenAI from 'openai';
import pTimeout from 'p-timeout';
import type { Config } from '../config/config.js';
import { type GreetingAudio, MAX_GREETING_AUDIO_BYTES } from '../store/greeting-store.js';

/** The OpenAI plugin's TTS output: 24 kHz mono, 16-bit little-endian PCM. */
export const TTS_SAMPLE_RATE = 24_000;
const FORMAT = 'pcm_s16le';

/** What the session's TTS is built with (src/call/voice-pipeline.ts), as far as the sound goes. */
export interface GreetingVoice {
  model: string;
  voice: string;
  /** The plugin's default, 1: the session sets none. */
  speed: number;
  sampleRate: number;
}

/**
 * @param config the TTS model and voice (`OPENAI_TTS_MODEL`, `OPENAI_TTS_VOICE`)
 * @returns the settings the session's TTS speaks with
 */
export function greetingVoice(config: Config): GreetingVoice {
  return {
    model: config.openai.ttsModel,
    voice: config.openai.ttsVoice,
    speed: 1,
    sampleRate: TTS_SAMPLE_RATE,
  };
}

/**
 * @param voice the TTS settings
 * @param text the greeting, exactly as it is spoken
 * @returns the key prepared audio is stored and looked up under
 */
export function greetingAudioKey(voice: GreetingVoice, text: string): string {
  const textHash = createHash('sha256').update(text).digest('base64url').slice(0, 22);
  return JSON.stringify([
    FORMAT,
    voice.sampleRate,
    voice.model,
    voice.voice,
    voice.speed,
    textHash,
  ]);
}

/** Thrown when a greeting's speech would not fit the store's cap (a row must stay small). */
export class GreetingAudioTooLongError extends Error {
  constructor(readonly bytes: number) {
    super(`greeting audio of ${bytes} bytes is over the ${MAX_GREETING_AUDIO_BYTES}-byte cap`);
    this.name = 'GreetingAudioTooLongError';
  }
}

export interface GreetingSynthesizerOptions {
  /**
   * Longest one synthesis may take before it is aborted. Default 10 000 ms (a greeting is a few
   * seconds of speech; OpenAI answers in well under that). Must be > 0.
   */
  timeoutMs?: number;
}

/**
 * The greeting's speech from OpenAI's speech endpoint, asked exactly as the plugin's `openai.TTS`
 * asks it (model, voice, speed, `pcm`). Not through the plugin itself: its one-shot stream
 * leaves a failed request as an unhandled rejection, which would end a job process.
 */
export class GreetingSynthesizer {
  readonly #timeoutMs: number;

  /**
   * @param client the pool's OpenAI client (a getter: the pool may rebuild it)
   * @param voice the session's TTS settings
   * @param options the timeout
   */
  constructor(
    private readonly client: () => OpenAI,
    readonly voice: GreetingVoice,
    options: GreetingSynthesizerOptions = {},
  ) {
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /**
   * @param text the greeting as it will be spoken
   * @returns the key this text's audio is stored under with this voice
   */
  keyFor(text: string): string {
    return greetingAudioKey(this.voice, text);
  }

  /**
   * One speech request, bounded by the timeout (the request is aborted past it).
   * @param text the greeting
   * @returns its speech, keyed
   * @throws what the request throws, a `TimeoutError`, or {@link GreetingAudioTooLongError}
   */
  async synthesize(text: string): Promise<GreetingAudio> {
    const controller = new AbortController();
    try {
      const pcm = await pTimeout(this.#request(text, controller.signal), {
        milliseconds: this.#timeoutMs,
        message: `greeting speech not made within ${this.#timeoutMs} ms`,
      });
      if (pcm.byteLength > MAX_GREETING_AUDIO_BYTES)
        throw new GreetingAudioTooLongError(pcm.byteLength);
      return { key: this.keyFor(text), sampleRate: this.voice.sampleRate, pcm };
    } catch (error) {
      controller.abort();
      throw error;
    }
  }

  async #request(text: string, signal: AbortSignal): Promise<Uint8Array> {
    const response = await this.client().audio.speech.create(
      {
        input: text,
        model: this.voice.model,
        voice: this.voice.voice,
        response_format: 'pcm',
        speed: this.voice.speed,
      },
      { signal },
    );
    // An odd byte would be half a sample: drop it.
    const bytes = new Uint8Array(await response.arrayBuffer());
    return bytes.subarray(0, bytes.byteLength - (bytes.byteLength % 2));
  }
}
