/**
 * Memory in the prompt and preemptive generation, by voice: `runCall` with the bundled VAD, the
 * end-of-turn model (in the framework's inference process) and preemptive generation on, as
 * production runs them; real speech from espeak-ng in, the memory store on the embedded Postgres.
 * The reply drafted from the transcript before the turn is over already carries the turn's
 * memories, and it is the one used: one LLM request for the turn, not a draft thrown away.
 */
import { voice } from '@livekit/agents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LiveCall, runCall } from '../../src/call/run-call.js';
import { PushAudioInput, SpeechCapture, silence } from '../support/audio-io.js';
import { eventually } from '../support/eventually.js';
import { type InferenceProcess, startInferenceProcess } from '../support/inference-process.js';
import {
  type MemoryFixture,
  type ProcessUnderTest,
  startMemoryFixture,
} from '../support/memory-fixture.js';
import { extractedMemory } from '../support/memory-items.js';
import { type ChatRequestBody, textOf } from '../support/openai-chat-responder.js';
import { SPEECH_SAMPLE_RATE } from '../support/openai-media.js';
import { speak } from '../support/spoken-audio.js';

// One clause: espeak-ng pauses at a sentence's end, and the VAD would hear two utterances.
const SNACK = 'Please suggest a snack without any peanuts';

let fx: MemoryFixture;
let inference: InferenceProcess;
let p: ProcessUnderTest;
let live: LiveCall | undefined;
let mic: PushAudioInput | undefined;

beforeAll(async () => {
  [fx, inference] = await Promise.all([startMemoryFixture(), startInferenceProcess()]);
  p = await fx.process();
}, 60_000);
afterAll(async () => {
  await live?.session.close();
  await mic?.close();
  await inference?.close();
  await fx?.stop();
});

/** The session's requests (extraction and greetings offer no tools). */
const sessionRequests = () =>
  fx.openai.requests
    .filter((r) => r.path.endsWith('/chat/completions'))
    .map((r) => r.body as ChatRequestBody)
    .filter((body) => (body.tools?.length ?? 0) > 0);

describe('a spoken turn about an old fact', () => {
  it('is answered from the preemptive draft, which already carries the fact', async () => {
    const user = fx.user('pia');
    const heardAt = new Date();
    await p.store.save(
      user,
      [
        extractedMemory('identity', 'name', 'Name is Pia'),
        extractedMemory('preference', 'allergy', 'Is allergic to peanuts'),
      ],
      `first-${user}`,
      heardAt,
    );
    // 300 newer facts: the allergy is far outside the instructions' newest few.
    const newer = Array.from({ length: 300 }, (_, i) =>
      extractedMemory('fact', `visit_${i}`, `Visited museum ${i} downtown`),
    );
    await p.store.save(user, newer, `newer-${user}`, heardAt);

    mic = new PushAudioInput();
    const speaker = new voice.QueueAudioOutput(SPEECH_SAMPLE_RATE);
    const heard = new SpeechCapture(speaker, { realTime: true });
    live = await runCall({
      pool: p.pool,
      config: p.config,
      services: p.services,
      userId: user,
      connection: { audio: { input: mic, output: speaker } },
      inferenceExecutor: inference.executor,
    });
    const replies: string[] = [];
    live.session.on(voice.AgentSessionEventTypes.ConversationItemAdded, ({ item: said }) => {
      if (said.type === 'message' && said.role === 'assistant') {
        replies.push(said.textContent ?? '');
      }
    });
    await heard.waitForSegments(1, 10_000); // the greeting

    const before = sessionRequests().length;
    fx.openai.queueTranscript(SNACK);
    await mic.speak(silence(300, 22_050), 1);
    await mic.speak(speak(SNACK), 1);
    const trailing = mic.speak(silence(4_000, 22_050), 1);
    await heard.waitForSegments(2, 20_000);
    await trailing;
    await eventually(() => expect(replies.at(-1)).toContain('peanuts'));

    // One request for the turn: the draft started before the end of the turn was used.
    const turn = sessionRequests().slice(before);
    expect(turn).toHaveLength(1);
    const messages = turn[0]!.messages!.map((m) => ({ role: m.role, text: textOf(m.content) }));
    expect(messages[0]!.text).toContain('Name is Pia');
    expect(messages.at(-1)).toEqual({ role: 'user', text: SNACK });
    expect(messages.at(-2)!.role).toBe('system');
    expect(messages.at(-2)!.text).toContain('preference/allergy: "Is allergic to peanuts"');
  }, 60_000);
});
