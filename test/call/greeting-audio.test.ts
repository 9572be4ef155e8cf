/**
 * Prepared greeting audio through `runCall`, as job processes run it, with audio in and out and
 * no room: a returning caller's greeting is prepared at the end of one call (text, then speech,
 * stored beside it), and the next call, in another process, plays those very samples with no TTS
 * and no LLM request; a changed voice falls back to the TTS and prepares the audio anew; the
 * caller can talk over a prepared greeting. A real Postgres, the local OpenAI server, the
 * bundled VAD, real speech from espeak-ng.
 */
import { voice } from '@livekit/agents';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCall } from '../../src/call/run-call.js';
import type { GreetingAudio } from '../../src/store/greeting-store.js';
import { PushAudioInput, SpeechCapture, durationMs, silence } from '../support/audio-io.js';
import { eventually } from '../support/eventually.js';
import {
  type MemoryFixture,
  type ProcessUnderTest,
  startMemoryFixture,
} from '../support/memory-fixture.js';
import { SPEECH_SAMPLE_RATE, speechPcm } from '../support/openai-media.js';
import { speak } from '../support/spoken-audio.js';

// Turn detection by the VAD alone: what is tested here is the greeting, not the end of a turn.
const ENV = { TURN_DETECTION: 'vad' };
const AGENT = 'default';

let fx: MemoryFixture;
beforeAll(async () => {
  fx = await startMemoryFixture();
}, 60_000);
afterAll(async () => {
  await fx?.stop();
});

/** Plays the output out at once and keeps every segment's samples. */
function recordSegments(output: voice.QueueAudioOutput) {
  const segments: { samples: number[] }[] = [];
  let current: { samples: number[] } | undefined;
  void (async () => {
    for await (const item of output.stream()) {
      if (item instanceof voice.AudioSegmentEnd) {
        if (!current) continue;
        segments.push(current);
        output.notifyPlaybackFinished(current.samples.length / SPEECH_SAMPLE_RATE, false);
        current = undefined;
        continue;
      }
      if (!current) {
        current = { samples: [] };
        output.notifyPlaybackStarted();
      }
      current.samples.push(...item.data);
    }
  })();
  return segments;
}

/** One call: the greeting is heard in full, then the caller hangs up. */
async function greetedCall(p: ProcessUnderTest, userId: string) {
  const mic = new PushAudioInput();
  const speaker = new voice.QueueAudioOutput(SPEECH_SAMPLE_RATE);
  const segments = recordSegments(speaker);
  const requestsBefore = fx.openai.requests.length;
  const live = await runCall({
    pool: p.pool,
    config: p.config,
    services: p.services,
    userId,
    connection: { audio: { input: mic, output: speaker } },
  });
  const greeting = await eventually(() => {
    expect(segments.length).toBeGreaterThan(0);
    return segments[0]!;
  }, 10_000);
  // What the server was asked while the caller waited for their greeting, and until it ended.
  const asked = fx.openai.requests.slice(requestsBefore).map((r) => r.path);
  const report = await live.hangUp();
  await mic.close();
  return {
    greeting: live.call.greeting,
    heard: greeting.samples,
    asked,
    report,
  };
}

const samplesOf = (pcm: Uint8Array) => [...new Int16Array(pcm.slice().buffer)];
const count = (paths: string[], path: string) => paths.filter((p) => p === path).length;

async function storedAudio(p: ProcessUnderTest, userId: string): Promise<GreetingAudio> {
  const row = await p.store.getGreeting(AGENT, userId);
  expect(row?.audio).toBeDefined();
  return row!.audio!;
}

/** A caller the store knows by name, as a previous call's extraction left them. */
async function knownCaller(p: ProcessUnderTest, name: string): Promise<string> {
  const userId = fx.user(name.toLowerCase());
  await p.store.save(
    userId,
    [
      {
        category: 'identity',
        key: 'name',
        value: `Name is ${name}`,
        confidence: 0.9,
        source: 'explicit',
      },
    ],
    randomUUID(),
    new Date(),
  );
  return userId;
}

describe('prepared greeting audio, through the call as a job runs it', () => {
  it('plays the prepared samples with no TTS and no LLM request; another voice falls back and re-prepares', async () => {
    const first = await fx.process(ENV);
    const userId = await knownCaller(first, 'Maya');
    const one = await greetedCall(first, userId);
    expect(one.greeting.source).toBe('template'); // no greeting prepared yet
    expect(one.report).toMatchObject({ greetingPrepared: true, greetingAudioPrepared: true });
    const prepared = await storedAudio(first, userId);
    const text = (await first.store.getGreeting(AGENT, userId))!.text;
    expect(text).toMatch(/Maya/);
    expect(samplesOf(prepared.pcm)).toEqual(samplesOf(speechPcm(text))); // the server's speech
    await first.close();

    // Samples only the stored audio has (same key): what is heard must be them.
    const marked = new Int16Array(prepared.pcm.byteLength / 2).map((_, i) => (i % 200) - 100);
    const markedPcm = new Uint8Array(marked.buffer);
    const second = await fx.process(ENV);
    expect(
      await second.store.putGreetingAudio(AGENT, userId, text, { ...prepared, pcm: markedPcm }),
    ).toBe(true);
    const two = await greetedCall(second, userId);
    expect(two.greeting).toMatchObject({ text, source: 'cache' });
    expect(count(two.asked, '/v1/audio/speech')).toBe(0);
    expect(count(two.asked, '/v1/chat/completions')).toBe(0);
    expect(two.heard).toEqual([...marked]);
    expect(second.services.greetings.stats().audio).toMatchObject({ hits: 1, misses: 0 });
    await second.close();

    // Another voice: the stored audio's key does not fit; the TTS says it, and it is made anew.
    const nova = { ...ENV, OPENAI_TTS_VOICE: 'nova' };
    const third = await fx.process(nova);
    const three = await greetedCall(third, userId);
    expect(three.greeting).toMatchObject({ text, source: 'cache', audio: undefined });
    // The plugin's TTS hands over whole 100 ms frames only (the tail shorter than one is dropped).
    const spokenByTts = samplesOf(speechPcm(text));
    expect(three.heard).toEqual(
      spokenByTts.slice(0, spokenByTts.length - (spokenByTts.length % 2_400)),
    );
    const spoken = fx.openai.requests
      .filter((r) => r.path === '/v1/audio/speech')
      .slice(-2)
      .map((r) => r.body as { input: string; voice: string });
    expect(spoken).toEqual([
      expect.objectContaining({ input: text, voice: 'nova' }),
      expect.objectContaining({ input: text, voice: 'nova' }),
    ]);
    expect(three.report.greetingAudioPrepared).toBe(true);
    expect((await storedAudio(third, userId)).key).toContain('"nova"');
    await third.close();

    const fourth = await fx.process(nova);
    const four = await greetedCall(fourth, userId);
    expect(four.greeting.audio).toBeDefined();
    expect(count(four.asked, '/v1/audio/speech')).toBe(0);
    expect(four.heard).toEqual(samplesOf(speechPcm(text)));
    await fourth.close();
  }, 90_000);

  it('a prepared greeting the caller talks over stops, as any speech does', async () => {
    const setup = await fx.process(ENV);
    const userId = await knownCaller(setup, 'Sam');
    const text =
      'Welcome back, Sam! Last time you told me all about your garden, the tomatoes, the beans and the roses by the gate. How are they all doing this week?';
    await setup.services.greetings.cache.set(userId, text);
    expect(await setup.services.greetings.prepareAudio(userId, text)).toBe(true);
    await setup.close();

    const p = await fx.process(ENV);
    const mic = new PushAudioInput();
    const speaker = new voice.QueueAudioOutput(SPEECH_SAMPLE_RATE);
    const heard = new SpeechCapture(speaker, { realTime: true });
    const speechBefore = count(
      fx.openai.requests.map((r) => r.path),
      '/v1/audio/speech',
    );
    const live = await runCall({
      pool: p.pool,
      config: p.config,
      services: p.services,
      userId,
      connection: { audio: { input: mic, output: speaker } },
    });
    expect(live.call.greeting.audio).toBeDefined();
    const states: string[] = [];
    live.session.on(voice.AgentSessionEventTypes.UserStateChanged, (e) => states.push(e.newState));
    await heard.segmentStarted(1, 10_000);
    // The framework ignores the caller for the agent's first 3 s of speech, whatever it says
    // (its echo-cancellation warm-up, `aecWarmupDuration`): talk over the greeting after that.
    await mic.speak(silence(4_000, 22_050), 1);
    fx.openai.queueTranscript('Sorry, I have a question.');
    await mic.speak(speak('Sorry, I have a question.'), 1);
    await mic.speak(silence(1_000, 22_050), 1);
    const [greeting] = await heard.waitForSegments(1, 15_000);
    expect({ interrupted: greeting!.interrupted, states }).toMatchObject({ interrupted: true });
    expect(durationMs(greeting!)).toBeLessThan(0.8 * (60 * text.length));
    // The greeting itself needed no TTS (the reply may).
    const greetingSpeech = fx.openai.requests
      .filter((r) => r.path === '/v1/audio/speech')
      .slice(speechBefore)
      .map((r) => (r.body as { input: string }).input);
    expect(greetingSpeech).not.toContain(text);
    await live.hangUp();
    await mic.close();
    await p.close();
  }, 60_000);
});
