/**
 * A call by voice, through what production runs: `runCall` (as a job does after the room
 * connection) builds the session with `createAgentSession`, the framework's bundled Silero VAD,
 * the end-of-turn model in the framework's own inference process, and the OpenAI plugin's STT,
 * LLM and TTS on the pooled client against the local OpenAI server. Only the room is replaced:
 * the caller's microphone is a stream of real speech synthesised by espeak-ng, and the agent's
 * voice is played out in real time, so the caller can talk over it.
 */
import { voice } from '@livekit/agents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LiveCall, runCall } from '../../src/call/run-call.js';
import type { Config } from '../../src/config/config.js';
import { GENERIC_GREETING } from '../../src/greeting/greeting-text.js';
import { ConnectionPool } from '../../src/pool/connection-pool.js';
import {
  PushAudioInput,
  SpeechCapture,
  durationMs,
  noise,
  silence,
  tone,
} from '../support/audio-io.js';
import { testConfig } from '../support/config.js';
import { eventually } from '../support/eventually.js';
import { type InferenceProcess, startInferenceProcess } from '../support/inference-process.js';
import { SPEECH_MS_PER_CHAR, SPEECH_SAMPLE_RATE } from '../support/openai-media.js';
import { type OpenAIServer, startOpenAIServer } from '../support/openai-server.js';
import { speak } from '../support/spoken-audio.js';

// espeak-ng's flat voice leaves the end-of-turn model unsure on most questions (it then waits its
// 2.5 s maximum); on this one it is sure, and the turn ends as soon as a caller's would.
const QUESTION = 'Please give me the pool stats.';
const STORY =
  'Tell me a long story about a lighthouse keeper who collected shells on a windy beach, and about the ships she watched pass by every single night.';
/** The server's speech is 60 ms a character, rounded to whole samples per request. */
const expectedSpeechMs = (texts: readonly string[]) =>
  texts.reduce(
    (sum, text) =>
      sum +
      (Math.round((SPEECH_SAMPLE_RATE * SPEECH_MS_PER_CHAR * text.length) / 1000) /
        SPEECH_SAMPLE_RATE) *
        1000,
    0,
  );
const normalize = (text: string) => text.replace(/\s+/g, ' ').trim();
const framesMs = (frames: readonly { samplesPerChannel: number; sampleRate: number }[]) =>
  frames.reduce((ms, f) => ms + (f.samplesPerChannel / f.sampleRate) * 1000, 0);

let openai: OpenAIServer;
let config: Config;
let pool: ConnectionPool;
let inference: InferenceProcess;
const calls: { live: LiveCall; mic: PushAudioInput }[] = [];

beforeAll(async () => {
  [openai, inference] = await Promise.all([startOpenAIServer(), startInferenceProcess()]);
  config = testConfig({ OPENAI_BASE_URL: openai.baseURL });
  pool = await ConnectionPool.create(config);
}, 60_000);

afterAll(async () => {
  for (const { live, mic } of calls) {
    await live.session.close();
    await mic.close();
  }
  await pool?.close();
  await inference?.close();
  await openai?.close();
});

/** A caller on the phone: their microphone, what they hear, and what the session says of them. */
async function dial(userId: string) {
  const mic = new PushAudioInput();
  const speaker = new voice.QueueAudioOutput(SPEECH_SAMPLE_RATE);
  const heard = new SpeechCapture(speaker, { realTime: true });
  const userStates: { state: string; at: number }[] = [];
  const live = await runCall({
    pool,
    config,
    userId,
    connection: { audio: { input: mic, output: speaker } },
    inferenceExecutor: inference.executor,
  });
  calls.push({ live, mic });
  live.session.on(voice.AgentSessionEventTypes.UserStateChanged, (event) =>
    userStates.push({ state: event.newState, at: performance.now() }),
  );
  const replies: string[] = [];
  live.session.on(voice.AgentSessionEventTypes.ConversationItemAdded, ({ item }) => {
    if (item.type === 'message' && item.role === 'assistant') replies.push(item.textContent ?? '');
  });
  return { mic, heard, live, userStates, replies };
}

const requests = (path: string) => openai.requests.filter((r) => r.path === path);

describe('a call by voice, through the session production builds', () => {
  it('hears a spoken question start and end, sends that audio to STT, and answers by voice', async () => {
    const { mic, heard, userStates, replies } = await dial('caller-speech');
    const [greeting] = await heard.waitForSegments(1, 10_000);
    expect(requests('/v1/audio/speech')[0]?.body).toMatchObject({ input: GENERIC_GREETING });
    // @livekit/agents-plugin-openai 1.9 never flushes its AudioByteStream: the last partial
    // 100 ms frame of each synthesized request is dropped. Allowed here, and that much only.
    const greetingMs = expectedSpeechMs([GENERIC_GREETING]);
    expect(durationMs(greeting!)).toBeLessThanOrEqual(greetingMs + 1);
    expect(durationMs(greeting!)).toBeGreaterThan(greetingMs - 100);

    openai.queueTranscript(QUESTION);
    const utterance = speak(QUESTION);
    await mic.speak(silence(300, 22_050), 1);
    const speechStartedAt = performance.now();
    await mic.speak(utterance, 1); // in real time, as a microphone delivers it
    const speechEndedAt = performance.now();
    // A microphone goes on sending (silence) after the caller stops.
    const trailing = mic.speak(silence(4_000, 22_050), 1);
    const [, answer] = await heard.waitForSegments(2, 15_000);
    await trailing;

    // The VAD heard the caller start and stop.
    const speaking = userStates.find((s) => s.state === 'speaking');
    const listening = userStates.find((s) => s.state === 'listening' && s.at > speaking!.at);
    expect(speaking!.at).toBeGreaterThan(speechStartedAt);
    expect(speaking!.at).toBeLessThan(speechEndedAt);
    expect(listening!.at).toBeGreaterThan(speechEndedAt - 200);
    // The STT got that utterance: 16 kHz, 16-bit, about as long as it was said.
    const transcriptions = requests('/v1/audio/transcriptions');
    expect(transcriptions).toHaveLength(1);
    const sentMs = (transcriptions[0]!.audioBytes! / (16_000 * 2)) * 1000;
    expect(sentMs).toBeGreaterThan(0.8 * framesMs(utterance));
    expect(sentMs).toBeLessThan(framesMs(utterance) + 2_000);
    // The transcript reached the LLM, the tool answered, and the answer was spoken.
    // The reply joins the conversation once its playout ends.
    const reply = await eventually(() => {
      const last = normalize(replies.at(-1) ?? '');
      expect(last).toMatch(/connection/i);
      return last;
    });
    const answerTexts = requests('/v1/audio/speech')
      .slice(1)
      .map((r) => (r.body as { input: string }).input);
    expect(normalize(answerTexts.join(' '))).toBe(reply);
    expect(answer!.interrupted).toBe(false);
    const answerMs = expectedSpeechMs(answerTexts);
    expect(durationMs(answer!)).toBeLessThanOrEqual(answerMs + 1);
    expect(durationMs(answer!)).toBeGreaterThan(answerMs - 100 * answerTexts.length);
    console.info(
      `[voice] ${framesMs(utterance).toFixed(0)} ms of speech; VAD: start +` +
        `${(speaking!.at - speechStartedAt).toFixed(0)} ms, end +` +
        `${(listening!.at - speechEndedAt).toFixed(0)} ms; end of speech → first answer frame ` +
        `${(answer!.firstFrameAt - speechEndedAt).toFixed(0)} ms (turn detection: ` +
        `${config.voice.turnDetection})`,
    );
  }, 60_000);

  it('starts no turn on silence, a steady hum or steady noise', async () => {
    const { mic, heard, userStates } = await dial('caller-quiet');
    await heard.waitForSegments(1, 10_000);
    const transcriptionsBefore = requests('/v1/audio/transcriptions').length;
    await mic.speak(silence(1_500), 1);
    await mic.speak(tone(2_000), 1);
    await mic.speak(noise(2_000), 1);
    await mic.speak(silence(1_000), 1);
    expect(userStates.filter((s) => s.state === 'speaking')).toEqual([]);
    expect(requests('/v1/audio/transcriptions').length).toBe(transcriptionsBefore);
    expect(heard.segments).toHaveLength(1); // the greeting, nothing since
  }, 60_000);

  it('lets the caller talk over a long answer, and the next turn still finds a warm connection', async () => {
    const { mic, heard, replies } = await dial('caller-barge-in');
    await heard.waitForSegments(1, 10_000);
    openai.queueTranscript(STORY, QUESTION);
    await mic.speak(speak(STORY), 1);
    await mic.speak(silence(200, 22_050), 1);
    // The long answer plays ("You said: …", several seconds of audio); the caller cuts in.
    await heard.segmentStarted(2, 15_000);
    // Past the framework's echo-cancellation warm-up (the agent's first 3 s of speech in a
    // session, the greeting's included), during which the caller cannot interrupt.
    await mic.speak(silence(1_500, 22_050), 1);
    const talking = mic.speak(speak(QUESTION), 1);
    const [, story] = await heard.waitForSegments(2, 15_000);
    expect(story!.interrupted).toBe(true);
    expect(durationMs(story!)).toBeLessThan(0.6 * (60 * `You said: ${STORY}`.length));
    // The connections open at the interruption (an aborted stream takes its connection along,
    // and the pool replaces it at once, ahead of the next turn).
    const openedByInterruption = openai.connectionsOpened;
    await talking;
    await mic.speak(silence(300, 22_050), 1);
    const [, , answer] = await heard.waitForSegments(3, 20_000);
    expect(answer!.interrupted).toBe(false);
    await eventually(() => expect(normalize(replies.at(-1) ?? '')).toMatch(/connection/i));
    // The next turn's first request, its transcription, went over a connection that was already
    // open when the caller cut in: no handshake on its path.
    const transcription = requests('/v1/audio/transcriptions').at(-1)!;
    expect(transcription.connection).toBeGreaterThan(0);
    expect(transcription.connection).toBeLessThanOrEqual(openedByInterruption);
  }, 90_000);
});
