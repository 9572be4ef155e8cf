/** Test equipment: OpenAI's speech endpoint as a fake client, and prepared audio made by hand. */
import type OpenAI from 'openai';
import {
  type GreetingVoice,
  TTS_SAMPLE_RATE,
  greetingAudioKey,
} from '../../../src/greeting/greeting-audio.js';
import type { GreetingAudio } from '../../../src/store/greeting-store.js';

export const VOICE: GreetingVoice = {
  model: 'gpt-4o-mini-tts',
  voice: 'alloy',
  speed: 1,
  sampleRate: TTS_SAMPLE_RATE,
};

/** PCM whose samples count up from `seed`: any two texts' audio differ, and a sample out of place shows. */
export function pcmFor(text: string, samples = 4_000, seed = text.length): Uint8Array {
  const values = new Int16Array(samples);
  for (let i = 0; i < samples; i++) values[i] = ((seed * 7_919 + i * 31) % 65_536) - 32_768;
  return new Uint8Array(values.buffer);
}

export function audioFor(text: string, voice = VOICE): GreetingAudio {
  return { key: greetingAudioKey(voice, text), sampleRate: voice.sampleRate, pcm: pcmFor(text) };
}

export interface SpeechRequest {
  body: { input: string; model: string; voice: string; response_format: string; speed: number };
  signal: AbortSignal | undefined;
}

/**
 * The speech endpoint: answers each request with `pcmFor(input)`, or hangs while `hang` is set,
 * or fails with `failure`.
 */
export function fakeSpeechClient() {
  const state = {
    requests: [] as SpeechRequest[],
    hang: false,
    failure: undefined as Error | undefined,
  };
  const create = async (body: SpeechRequest['body'], options?: { signal?: AbortSignal }) => {
    state.requests.push({ body, signal: options?.signal });
    if (state.failure) throw state.failure;
    if (state.hang) await new Promise(() => undefined);
    const pcm = pcmFor(body.input);
    return { arrayBuffer: async () => pcm.slice().buffer };
  };
  const client = { audio: { speech: { create } } } as unknown as OpenAI;
  return { state, client: () => client };
}
