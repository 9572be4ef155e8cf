/**
 * Prepared greeting audio through the greeting service, on a fake store and a fake speech
 * endpoint: which greeting is said from prepared audio (and which not), what a miss prepares in
 * the background, how the audio follows the text's invalidation, and a failing synthesis.
 */
import type OpenAI from 'openai';
import { describe, expect, it, vi } from 'vitest';
import { GreetingAudioCache } from '../../../src/greeting/greeting-audio-cache.js';
import { GreetingAudioService } from '../../../src/greeting/greeting-audio-service.js';
import { GreetingSynthesizer, type GreetingVoice } from '../../../src/greeting/greeting-audio.js';
import { GreetingCache } from '../../../src/greeting/greeting-cache.js';
import { GreetingGenerator } from '../../../src/greeting/greeting-generator.js';
import { GreetingService } from '../../../src/greeting/greeting-service.js';
import { GENERIC_GREETING, NEW_CALLER_GREETING } from '../../../src/greeting/greeting-text.js';
import type { Logger } from '../../../src/lib/logger.js';
import type { PoolStats } from '../../../src/pool/pool-stats.js';
import { describePoolStats } from '../../../src/tools/pool-summary.js';
import { FakeGreetingStore, manualClock } from './fake-greeting-store.js';
import { VOICE, audioFor, fakeSpeechClient } from './fake-speech.js';

const HOUR = 3_600_000;
const MAYA = 'Welcome back, Maya! How was the green tea?';
const noLlm = () => {
  throw new Error('no LLM in these tests');
};

function setup(voice: GreetingVoice = VOICE) {
  const clock = manualClock();
  const store = new FakeGreetingStore(clock.now);
  const speech = fakeSpeechClient();
  const warn = vi.fn();
  const audio = new GreetingAudioCache({ now: clock.now });
  const cache = new GreetingCache({ agent: 'shop', store, ttlMs: HOUR, audio, now: clock.now });
  const service = new GreetingAudioService({
    synthesizer: new GreetingSynthesizer(speech.client, voice),
    cache,
    audio,
    logger: { warn } as unknown as Logger,
    secrets: ['sk-secret'],
  });
  const greetings = new GreetingService({
    cache,
    generator: new GreetingGenerator(noLlm as () => OpenAI, { model: 'gpt' }),
    audio: service,
  });
  return { store, speech, warn, audio, cache, greetings };
}

const newCaller = async () => [];

describe('a greeting said from prepared audio', () => {
  it("a returning caller's stored audio with this voice's key: no speech request", async () => {
    const { store, speech, greetings } = setup();
    store.put('shop', 'maya', MAYA, HOUR);
    await store.putGreetingAudio('shop', 'maya', MAYA, audioFor(MAYA));
    const greeting = await greetings.greet('maya', newCaller());
    expect(greeting).toMatchObject({ text: MAYA, source: 'cache' });
    expect(greeting.audio).toEqual(audioFor(MAYA));
    expect(store.calls.get).toBe(1); // the audio came with the text's one read
    expect(speech.state.requests).toEqual([]);
    expect(greetings.stats().audio).toMatchObject({ hits: 1, misses: 0, prepared: 0 });
  });

  it('the second call in a process finds it in process memory, without the store', async () => {
    const { store, greetings } = setup();
    store.put('shop', 'maya', MAYA, HOUR);
    await store.putGreetingAudio('shop', 'maya', MAYA, audioFor(MAYA));
    await greetings.greet('maya', newCaller());
    store.rows.get(JSON.stringify(['shop', 'maya']))!.audio = undefined;
    expect((await greetings.greet('maya', newCaller())).audio).toEqual(audioFor(MAYA));
    expect(greetings.stats().audio).toMatchObject({ hits: 2, bytes: audioFor(MAYA).pcm.length });
  });

  it('another voice is a miss: said by TTS, and prepared anew in the background', async () => {
    const nova = { ...VOICE, voice: 'nova' };
    const { store, speech, greetings } = setup(nova);
    store.put('shop', 'maya', MAYA, HOUR);
    await store.putGreetingAudio('shop', 'maya', MAYA, audioFor(MAYA)); // made with alloy
    const first = await greetings.greet('maya', newCaller());
    expect(first.audio).toBeUndefined();
    await vi.waitFor(() => expect(greetings.stats().audio?.prepared).toBe(1));
    expect(speech.state.requests.map((r) => r.body)).toMatchObject([
      { input: MAYA, voice: 'nova' },
    ]);
    expect(store.rows.get(JSON.stringify(['shop', 'maya']))!.audio).toEqual(audioFor(MAYA, nova));
    expect((await greetings.greet('maya', newCaller())).audio).toEqual(audioFor(MAYA, nova));
    expect(greetings.stats().audio).toMatchObject({ hits: 1, misses: 1, prepared: 1 });
  });

  it("a new caller hears the process's prepared phrase; none before prewarm made it", async () => {
    const { speech, greetings } = setup();
    expect((await greetings.greet('sam', newCaller())).audio).toBeUndefined();
    await greetings.prepareCommonAudio(); // joins the phrase the miss started
    expect(speech.state.requests.map((r) => r.body.input).sort()).toEqual(
      [GENERIC_GREETING, NEW_CALLER_GREETING].sort(),
    );
    const greeting = await greetings.greet('ana', newCaller());
    expect(greeting).toMatchObject({ text: NEW_CALLER_GREETING, source: 'new-caller' });
    expect(greeting.audio).toEqual(audioFor(NEW_CALLER_GREETING));
    await greetings.prepareCommonAudio();
    expect(speech.state.requests).toHaveLength(2); // once per process
  });
});

describe('prepared audio follows its text', () => {
  it('a new text drops the old audio at both levels', async () => {
    const { store, cache, greetings } = setup();
    store.put('shop', 'maya', MAYA, HOUR);
    await greetings.prepareAudio('maya', MAYA);
    await cache.set('maya', 'Hi Maya, welcome back!');
    const hit = await cache.get('maya');
    expect(hit).toMatchObject({ text: 'Hi Maya, welcome back!', audio: undefined });
    expect(store.rows.get(JSON.stringify(['shop', 'maya']))!.audio).toBeUndefined();
  });

  it('a stale mark keeps the audio; a forget drops it', async () => {
    const { store, cache, greetings } = setup();
    store.put('shop', 'maya', MAYA, HOUR);
    expect(await greetings.prepareAudio('maya', MAYA)).toBe(true);
    await cache.get('maya'); // now in process memory too
    await cache.invalidate({ userId: 'maya', markStale: true, localOnly: true });
    const stale = await greetings.greet('maya', newCaller());
    expect(stale).toMatchObject({ source: 'stale-cache', audio: audioFor(MAYA) });
    expect(store.calls.get).toBe(1); // answered by process memory
    await cache.invalidate({ userId: 'maya', localOnly: true });
    store.rows.clear(); // as the store's delete
    expect((await greetings.greet('maya', newCaller())).audio).toBeUndefined();
  });

  it('audio for a text the store no longer holds is not stored', async () => {
    const { store, greetings } = setup();
    store.put('shop', 'maya', 'A newer greeting', HOUR);
    expect(await greetings.prepareAudio('maya', MAYA)).toBe(false);
    expect(store.rows.get(JSON.stringify(['shop', 'maya']))!.audio).toBeUndefined();
  });
});

describe('a synthesis that fails', () => {
  it('resolves false, is counted and logged once without secrets, and fails nothing else', async () => {
    const { store, speech, warn, greetings } = setup();
    store.put('shop', 'maya', MAYA, HOUR);
    speech.state.failure = new Error('401 bad key sk-secret');
    expect(await greetings.prepareAudio('maya', MAYA)).toBe(false);
    expect(greetings.stats().audio).toMatchObject({ prepared: 0, failures: 1 });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(JSON.stringify(warn.mock.calls)).not.toContain('sk-secret');
    // The greeting itself is still said, by TTS.
    expect(await greetings.greet('maya', newCaller())).toMatchObject({
      text: MAYA,
      audio: undefined,
    });
  });
});

describe('its figures', () => {
  it('hits, misses, bytes and prepare time in the stats; one clause in the voice answer', async () => {
    const { store, greetings } = setup();
    store.put('shop', 'maya', MAYA, HOUR);
    await greetings.prepareAudio('maya', MAYA);
    await greetings.greet('maya', newCaller()); // a hit
    await greetings.greet('sam', newCaller()); // a new caller before prewarm: a miss
    const audio = greetings.stats().audio!;
    expect(audio).toMatchObject({ hits: 1, misses: 1, prepared: 1, failures: 0, entries: 1 });
    expect(audio.bytes).toBe(audioFor(MAYA).pcm.length);
    expect(audio.prepareMs.p95).toEqual(expect.any(Number));
    const stats = {
      services: {
        openai: { configured: false, latencyMs: { p95: null } },
        supabase: { configured: false },
      },
      otherHealth: {},
      connections: { perOrigin: {}, warmReuseRatio: null },
      components: { greetings: greetings.stats() },
    } as unknown as PoolStats;
    expect(describePoolStats(stats)).toContain('1 of 2 greetings were said from prepared audio.');
  });
});
