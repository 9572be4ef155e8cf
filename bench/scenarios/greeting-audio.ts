/**
 * Greeting audio: call entry → the first frame of the greeting at the agent's audio output,
 * through what a job runs (`runCall`, the session production builds, audio out without a room),
 * at 20 ms and 80 ms RTT to a stand-in OpenAI whose every answer (the TTS's first byte, the
 * LLM's first token) takes 250 ms. The store is the embedded Postgres on 127.0.0.1. Each call is
 * entered in a fresh prewarmed job process (job processes are one-shot).
 *
 * - the starter's greeting: `session.generateReply()` on entry (an LLM call, then TTS);
 * - prepared text + TTS (before this change): the greeting text read from the store, spoken by
 *   the TTS;
 * - prepared audio: text and speech read from the store in one round trip, played at once;
 * - new caller: the welcome's speech made in prewarm, played from process memory.
 *
 * Turn detection is the VAD's alone (`TURN_DETECTION=vad`): what is measured is the greeting.
 */
import { voice } from '@livekit/agents';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgentSession } from '../../src/call/agent-session.js';
import { runCall } from '../../src/call/run-call.js';
import { PushAudioInput, SpeechCapture } from '../../test/support/audio-io.js';
import { SPEECH_SAMPLE_RATE } from '../../test/support/openai-media.js';
import { startTestPostgres } from '../../test/support/postgres.js';
import { type Row, type Scenario, ratio, summarize } from '../harness.js';
import { type BenchProcess, startJobProcess } from '../support/job-process.js';
import { startRemoteOpenAI } from '../support/remote-openai.js';

const FIRST_BYTE_MS = 250;
const TARGET_P95_MS = 30;
const RTTS_MS = [20, 80];
const ENV = { TURN_DETECTION: 'vad' };
const TEXT = 'Welcome back, Maya! How is the garden shed coming along?';

const MODES = ['starter', 'text', 'audio', 'new-caller'] as const;
type Mode = (typeof MODES)[number];

/**
 * One entry: ms from entry, and from the session's start (after the caller's memories and
 * greeting are looked up), to the first greeting frame; whether it was said from audio.
 */
async function enter(p: BenchProcess, mode: Mode, userId: string) {
  const mic = new PushAudioInput();
  const speaker = new voice.QueueAudioOutput(SPEECH_SAMPLE_RATE);
  const heard = new SpeechCapture(speaker);
  const entered = performance.now();
  let sessionAt = entered;
  let session: voice.AgentSession;
  let audio = false;
  let source = 'generateReply';
  if (mode === 'starter') {
    session = createAgentSession(p.pool, p.config);
    session.input.audio = mic;
    session.output.audio = speaker;
    await session.start({
      agent: new voice.Agent({ instructions: 'You are a helpful assistant.' }),
    });
    session.generateReply({ instructions: 'Greet the user and offer your assistance.' });
  } else {
    const live = await runCall({
      pool: p.pool,
      config: p.config,
      services: p.services,
      userId,
      connection: { audio: { input: mic, output: speaker } },
      onOpened: () => (sessionAt = performance.now()),
    });
    session = live.session;
    audio = live.call.greeting.audio !== undefined;
    source = live.call.greeting.source;
  }
  const firstFrameAt = await heard.firstFrame(15_000);
  await heard.waitForSegments(1, 30_000);
  await session.close();
  await mic.close();
  return {
    firstFrameMs: firstFrameAt - entered,
    sinceSessionMs: firstFrameAt - sessionAt,
    audio,
    source,
  };
}

async function measure(rttMs: number, samples: number, progress: (what: string) => void) {
  const [remote, pg, dataDir] = await Promise.all([
    startRemoteOpenAI(rttMs),
    startTestPostgres(),
    mkdtemp(join(tmpdir(), 'bench-greeting-audio-')),
  ]);
  const job = () => startJobProcess({ remote, postgresUrl: pg.url, dataDir, env: ENV });
  const opened: BenchProcess[] = [];
  try {
    progress(
      `${rttMs} ms RTT: seeding ${samples} callers with text, ${samples} with text and audio`,
    );
    const seed = await job();
    opened.push(seed);
    const withText = Array.from({ length: samples }, () => `bench-text-${randomUUID()}`);
    const withAudio = Array.from({ length: samples }, () => `bench-audio-${randomUUID()}`);
    for (const user of [...withText, ...withAudio])
      await seed.services.greetings.cache.set(user, TEXT);
    for (const user of withAudio)
      if (!(await seed.services.greetings.prepareAudio(user, TEXT)))
        throw new Error('greeting audio was not prepared');
    remote.server.setLatency(FIRST_BYTE_MS);

    const results = Object.fromEntries(
      MODES.map((mode) => [
        mode,
        { ms: [] as number[], sinceSession: [] as number[], fromAudio: 0, sources: [] as string[] },
      ]),
    ) as Record<
      Mode,
      { ms: number[]; sinceSession: number[]; fromAudio: number; sources: string[] }
    >;
    for (let i = 0; i < samples; i++) {
      for (const mode of MODES) {
        remote.server.setLatency(0);
        const p = await job(); // prewarm: not what the caller waits for
        opened.push(p);
        // Ours: as prewarm does (the welcome's and the generic greeting's speech, once).
        if (mode === 'audio' || mode === 'new-caller')
          await p.services.greetings.prepareCommonAudio();
        remote.server.setLatency(FIRST_BYTE_MS);
        const user =
          mode === 'text' ? withText[i]! : mode === 'audio' ? withAudio[i]! : `new-${randomUUID()}`;
        const entry = await enter(p, mode, user);
        results[mode].ms.push(entry.firstFrameMs);
        results[mode].sinceSession.push(entry.sinceSessionMs);
        if (entry.audio) results[mode].fromAudio++;
        results[mode].sources.push(entry.source);
        await p.close();
      }
      if ((i + 1) % 5 === 0) progress(`  ${rttMs} ms RTT: ${i + 1}/${samples}`);
    }
    return results;
  } finally {
    await Promise.all(opened.map((p) => p.close().catch(() => undefined)));
    await Promise.all([remote.close(), pg.stop()]);
    await rm(dataDir, { recursive: true, force: true });
  }
}

export const greetingAudio: Scenario = {
  name: 'greeting-audio',
  async run({ runs, progress }) {
    const samples = Math.max(10, runs * 4);
    const rows: Row[] = [];
    for (const rttMs of RTTS_MS) {
      const results = await measure(rttMs, samples, progress);
      const starter = summarize(results.starter.ms);
      const text = summarize(results.text.ms);
      const baseline = {
        label: "the starter's generateReply() greeting (LLM, then TTS)",
        figures: { medianMs: starter.median, p95Ms: starter.p95 },
      };
      const row = (measure: string, label: string, mode: 'audio' | 'new-caller'): Row => {
        const ours = summarize(results[mode].ms);
        const sinceSession = summarize(results[mode].sinceSession);
        const spokenFromAudio = results[mode].fromAudio;
        return {
          scenario: 'greeting-audio',
          measure: `${measure}, ${rttMs} ms RTT, first byte ${FIRST_BYTE_MS} ms`,
          baseline,
          ours: {
            label,
            figures: {
              medianMs: ours.median,
              p95Ms: ours.p95,
              maxMs: ours.max,
              sessionStartToFrameMedianMs: sinceSession.median,
              sessionStartToFrameP95Ms: sinceSession.p95,
              preparedTextTtsMedianMs: text.median,
              preparedTextTtsP95Ms: text.p95,
              spokenFromAudio: `${spokenFromAudio}/${ours.n}`,
              greetingSources: tally(results[mode].sources),
            },
          },
          ratio: ratio(ours.median, starter.median),
          target: `p95 <= ${TARGET_P95_MS} ms, every greeting from audio`,
          pass: ours.p95 <= TARGET_P95_MS && spokenFromAudio === ours.n,
        };
      };
      rows.push(
        row('entry → first greeting frame, returning caller', 'prepared audio (store)', 'audio'),
        row(
          'entry → first greeting frame, new caller',
          'welcome audio made in prewarm',
          'new-caller',
        ),
      );
    }
    return rows;
  },
};

/** "cache 19, deadline 1": where the greetings came from. */
function tally(sources: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const source of sources) counts.set(source, (counts.get(source) ?? 0) + 1);
  return [...counts].map(([source, n]) => `${source} ${n}`).join(', ');
}
