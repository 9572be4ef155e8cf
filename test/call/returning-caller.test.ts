/**
 * A returning caller, by voice, through `runCall` as two job processes run it: the first call
 * hears a new caller's greeting, the caller says who they are and what they like, and hangs up
 * (memory drained, next greeting prepared); the second call, in another process, greets them by
 * name and recalls what they said. Real speech (espeak-ng), the bundled VAD, the end-of-turn
 * model in the framework's inference process, a real Postgres, the local OpenAI server.
 */
import { voice } from '@livekit/agents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCall } from '../../src/call/run-call.js';
import { NEW_CALLER_GREETING } from '../../src/greeting/greeting-text.js';
import { PushAudioInput, SpeechCapture, silence } from '../support/audio-io.js';
import { eventually } from '../support/eventually.js';
import { type InferenceProcess, startInferenceProcess } from '../support/inference-process.js';
import {
  type MemoryFixture,
  type ProcessUnderTest,
  startMemoryFixture,
} from '../support/memory-fixture.js';
import { SPEECH_SAMPLE_RATE } from '../support/openai-media.js';
import { speak } from '../support/spoken-audio.js';

const INTRODUCTION = 'My name is Maya. I like green tea.';
const QUESTION = 'What do you remember about me?';

let fx: MemoryFixture;
let inference: InferenceProcess;

beforeAll(async () => {
  [fx, inference] = await Promise.all([startMemoryFixture(), startInferenceProcess()]);
}, 60_000);
afterAll(async () => {
  await inference?.close();
  await fx?.stop();
});

/** One call in its own job process: dial, say one thing, hear the answer. */
async function callOnce(p: ProcessUnderTest, userId: string, said: string, transcript: string) {
  const mic = new PushAudioInput();
  const speaker = new voice.QueueAudioOutput(SPEECH_SAMPLE_RATE);
  const heard = new SpeechCapture(speaker, { realTime: true });
  const live = await runCall({
    pool: p.pool,
    config: p.config,
    services: p.services,
    userId,
    connection: { audio: { input: mic, output: speaker } },
    inferenceExecutor: inference.executor,
  });
  const replies: string[] = [];
  live.session.on(voice.AgentSessionEventTypes.ConversationItemAdded, ({ item }) => {
    if (item.type === 'message' && item.role === 'assistant') replies.push(item.textContent ?? '');
  });
  await heard.waitForSegments(1, 10_000);
  fx.openai.queueTranscript(transcript);
  await mic.speak(speak(said), 1);
  const trailing = mic.speak(silence(3_000, 22_050), 1);
  await heard.waitForSegments(2, 15_000);
  await trailing;
  const answer = await eventually(() => {
    expect(replies.length).toBeGreaterThan(1);
    return replies.at(-1)!;
  });
  const report = await live.hangUp();
  await mic.close();
  return { greeting: live.call.greeting, answer, report };
}

describe('a returning caller, by voice, through the call as a job runs it', () => {
  it('is greeted by name on the next call, which recalls what they said', async () => {
    const user = fx.user('maya');
    const speechInputs = () =>
      fx.openai.requests
        .filter((r) => r.path === '/v1/audio/speech')
        .map((r) => (r.body as { input: string }).input)
        .join(' '); // the TTS is asked a sentence at a time

    const first = await fx.process();
    const one = await callOnce(first, user, INTRODUCTION, INTRODUCTION);
    expect(one.greeting).toMatchObject({ text: NEW_CALLER_GREETING, source: 'new-caller' });
    expect(speechInputs()).toContain(NEW_CALLER_GREETING);
    // Hung up: what was said is stored, and the next greeting is written while nobody waits.
    expect(one.report.drain).toMatchObject({ drained: true, left: 0 });
    expect(one.report.greetingPrepared).toBe(true);
    await first.close();

    const second = await fx.process();
    const two = await callOnce(second, user, QUESTION, QUESTION);
    expect(two.greeting.source).toBe('cache');
    expect(two.greeting.text).toMatch(/\bMaya\b/);
    expect(speechInputs()).toContain(two.greeting.text); // spoken, not only chosen
    expect(two.answer).toMatch(/Maya/);
    expect(two.answer).toMatch(/green tea/i);
  }, 90_000);
});
