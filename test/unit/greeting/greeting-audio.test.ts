/**
 * Prepared greeting audio, the parts on their own: the key (what makes a lookup a miss), the
 * synthesizer on a fake speech endpoint (what it asks, its timeout, the size cap), the frames
 * played from the PCM, and the process level bounded by bytes on a hand-moved clock.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  GreetingAudioCache,
  callerEntry,
  phraseEntry,
} from '../../../src/greeting/greeting-audio-cache.js';
import { greetingAudioFrames } from '../../../src/greeting/greeting-audio-frames.js';
import {
  GreetingAudioTooLongError,
  GreetingSynthesizer,
  greetingAudioKey,
} from '../../../src/greeting/greeting-audio.js';
import { MAX_GREETING_AUDIO_BYTES } from '../../../src/store/greeting-store.js';
import { manualClock } from './fake-greeting-store.js';
import { VOICE, audioFor, fakeSpeechClient, pcmFor } from './fake-speech.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('greeting audio key', () => {
  it('changes with the voice, model, speed, rate and text, and only with them', () => {
    const key = greetingAudioKey(VOICE, 'Hi Maya');
    expect(greetingAudioKey({ ...VOICE }, 'Hi Maya')).toBe(key);
    for (const other of [
      greetingAudioKey({ ...VOICE, voice: 'nova' }, 'Hi Maya'),
      greetingAudioKey({ ...VOICE, model: 'tts-1' }, 'Hi Maya'),
      greetingAudioKey({ ...VOICE, speed: 1.1 }, 'Hi Maya'),
      greetingAudioKey({ ...VOICE, sampleRate: 16_000 }, 'Hi Maya'),
      greetingAudioKey(VOICE, 'Hi Maya!'),
    ])
      expect(other).not.toBe(key);
    // The store keeps keys of 1 to 512 characters; the text itself is not in it.
    expect(key.length).toBeLessThanOrEqual(512);
    expect(key).not.toContain('Maya');
  });
});

describe('greeting synthesizer', () => {
  it("asks the speech endpoint as the plugin's TTS does and keys the PCM", async () => {
    const speech = fakeSpeechClient();
    const synthesizer = new GreetingSynthesizer(speech.client, VOICE);
    const audio = await synthesizer.synthesize('Welcome back, Maya!');
    expect(speech.state.requests.map((r) => r.body)).toEqual([
      {
        input: 'Welcome back, Maya!',
        model: VOICE.model,
        voice: VOICE.voice,
        response_format: 'pcm',
        speed: 1,
      },
    ]);
    expect(audio.key).toBe(greetingAudioKey(VOICE, 'Welcome back, Maya!'));
    expect(audio.sampleRate).toBe(24_000);
    expect(Buffer.from(audio.pcm).equals(Buffer.from(pcmFor('Welcome back, Maya!')))).toBe(true);
  });

  it('gives up at its timeout (10 s by default) and aborts the request', async () => {
    vi.useFakeTimers();
    const speech = fakeSpeechClient();
    speech.state.hang = true;
    const synthesizer = new GreetingSynthesizer(speech.client, VOICE);
    const made = synthesizer.synthesize('Hi');
    const outcome = expect(made).rejects.toThrow(/within 10000 ms/);
    await vi.advanceTimersByTimeAsync(9_999);
    expect(speech.state.requests[0]!.signal!.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await outcome;
    expect(speech.state.requests[0]!.signal!.aborted).toBe(true);
  });

  it('refuses speech over the store cap', async () => {
    const long = 'x'.repeat(200);
    const client = () =>
      ({
        audio: {
          speech: {
            create: async () => ({
              arrayBuffer: async () => new ArrayBuffer(MAX_GREETING_AUDIO_BYTES + 2),
            }),
          },
        },
      }) as never;
    await expect(new GreetingSynthesizer(client, VOICE).synthesize(long)).rejects.toBeInstanceOf(
      GreetingAudioTooLongError,
    );
  });
});

describe('greeting audio frames', () => {
  it('play back the very samples, in 100 ms frames, the last one shorter', async () => {
    const pcm = pcmFor('Hi', 2_400 * 3 + 100);
    // At an odd offset inside a larger buffer, as a driver may hand it over.
    const backing = new Uint8Array(pcm.byteLength + 1);
    backing.set(pcm, 1);
    const audio = { key: 'k', sampleRate: 24_000, pcm: backing.subarray(1) };
    const frames = [];
    for await (const frame of greetingAudioFrames(audio)) frames.push(frame);
    expect(frames.map((f) => f.samplesPerChannel)).toEqual([2_400, 2_400, 2_400, 100]);
    expect(frames.every((f) => f.sampleRate === 24_000 && f.channels === 1)).toBe(true);
    const played = new Int16Array(frames.flatMap((f) => [...f.data]));
    expect([...played]).toEqual([...new Int16Array(pcm.slice().buffer)]);
  });
});

describe('greeting audio cache: the process level, by bytes', () => {
  it('keeps the most recently used within its byte cap', () => {
    const one = audioFor('one'); // 8 000 bytes each
    const cache = new GreetingAudioCache({ maxBytes: 20_000 });
    cache.set(callerEntry('shop', 'a'), one);
    cache.set(callerEntry('shop', 'b'), audioFor('two'));
    expect(cache.get(callerEntry('shop', 'a'), one.key)).toBe(one); // a is now the most recent
    cache.set(callerEntry('shop', 'c'), audioFor('three'));
    expect(cache.get(callerEntry('shop', 'b'))).toBeUndefined();
    expect(cache.stats()).toEqual({ entries: 2, bytes: 16_000, maxBytes: 20_000 });
  });

  it('a lookup with another key is a miss', () => {
    const cache = new GreetingAudioCache();
    cache.set(callerEntry('shop', 'maya'), audioFor('Hi Maya'));
    expect(
      cache.get(callerEntry('shop', 'maya'), audioFor('Hi Maya', { ...VOICE, voice: 'nova' }).key),
    ).toBeUndefined();
  });

  it('entries expire with their TTL; phrases set with 0 stay, and outlive clearing callers', () => {
    const clock = manualClock();
    const cache = new GreetingAudioCache({ ttlMs: 60_000, now: clock.now });
    const phrase = audioFor('Hi there!');
    cache.set(phraseEntry(phrase.key), phrase, 0);
    cache.set(callerEntry('shop', 'maya'), audioFor('Hi Maya'));
    cache.set(callerEntry('shop', 'sam'), audioFor('Hi Sam'), 10_000);
    clock.advance(10_001);
    expect(cache.get(callerEntry('shop', 'sam'))).toBeUndefined();
    expect(cache.get(callerEntry('shop', 'maya'))).toBeDefined();
    clock.advance(50_000);
    expect(cache.get(callerEntry('shop', 'maya'))).toBeUndefined();
    cache.set(callerEntry('shop', 'maya'), audioFor('Hi Maya'));
    cache.clearCallers();
    expect(cache.get(callerEntry('shop', 'maya'))).toBeUndefined();
    expect(cache.get(phraseEntry(phrase.key), phrase.key)).toBe(phrase);
  });
});
