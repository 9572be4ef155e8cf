/**
 * Spoken turn: the end of the caller's speech → the first audio frame of the answer, through
 * `runCall` with production's voice settings (the framework's bundled VAD; `TURN_DETECTION`'s
 * default, the end-of-turn model in the framework's own inference process, then `vad`, for the
 * choice the README explains) and the OpenAI plugin
 * on the pool, the caller's speech synthesised by espeak-ng and sent in real time. Memory on (every
 * turn carries a fact, extracted at once: batch size 1) vs off (the same call in a process with no
 * memory services). The modes alternate in blocks; the processor is idle before every "off" block.
 */
import { type ipc, voice } from '@livekit/agents';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LiveCall, runCall } from '../../src/call/run-call.js';
import { TURN_DETECTIONS } from '../../src/config/rules.js';
import { PushAudioInput, SpeechCapture, silence } from '../../test/support/audio-io.js';
import { startInferenceProcess } from '../../test/support/inference-process.js';
import { SPEECH_SAMPLE_RATE } from '../../test/support/openai-media.js';
import { startTestPostgres } from '../../test/support/postgres.js';
import { speak } from '../../test/support/spoken-audio.js';
import { type Row, type Scenario, ratio, summarize } from '../harness.js';
import { type BenchProcess, setChatDelay, startJobProcess } from '../support/job-process.js';
import { type RemoteOpenAI, startRemoteOpenAI } from '../support/remote-openai.js';

const LLM_MS = 250;
const BLOCK = 3;
const SAID = ['I like green tea.', 'I prefer window seats.', "I'm working on a wooden boat."];

interface Phone {
  live: LiveCall;
  mic: PushAudioInput;
  heard: SpeechCapture;
}

async function dial(
  p: BenchProcess,
  withMemory: boolean,
  executor: ipc.InferenceExecutor,
): Promise<Phone> {
  const mic = new PushAudioInput();
  const speaker = new voice.QueueAudioOutput(SPEECH_SAMPLE_RATE);
  const heard = new SpeechCapture(speaker, { realTime: true });
  const live = await runCall({
    pool: p.pool,
    config: p.config,
    services: withMemory ? p.services : undefined,
    // A caller per setting: facts already stored by an earlier one would count as unchanged.
    userId: `bench-spoken-${withMemory ? 'on' : 'off'}-${p.config.voice.turnDetection}`,
    connection: { audio: { input: mic, output: speaker } },
    inferenceExecutor: executor,
  });
  await heard.waitForSegments(1, 15_000);
  return { live, mic, heard };
}

interface Setup {
  remote: RemoteOpenAI;
  postgresUrl: string;
  executor: ipc.InferenceExecutor;
  turnDetection: string;
}

/** Alternating blocks of spoken turns, memory off then on, in one job process. */
async function measure(setup: Setup, blocks: number, progress: (what: string) => void) {
  const dataDir = await mkdtemp(join(tmpdir(), 'bench-spoken-'));
  const p = await startJobProcess({
    remote: setup.remote,
    postgresUrl: setup.postgresUrl,
    dataDir,
    env: {
      MEMORY_BATCH_SIZE: '1',
      MEMORY_BATCH_DELAY_MS: '0',
      TURN_DETECTION: setup.turnDetection,
    },
  });
  const phones: Phone[] = [];
  try {
    const on = await dial(p, true, setup.executor);
    const off = await dial(p, false, setup.executor);
    phones.push(on, off);
    let said = 0;
    /** One spoken turn: speech end → first frame of the answer. */
    const turn = async (phone: Phone): Promise<number> => {
      const text = SAID[said++ % SAID.length]!;
      setup.remote.server.queueTranscript(text);
      const answers = phone.heard.segments.length + 1;
      await phone.mic.speak(speak(text), 1);
      const ended = performance.now();
      // A microphone goes on sending after the caller stops.
      const trailing = phone.mic.speak(silence(3_500, 22_050), 1);
      const firstFrame = await phone.heard.segmentStarted(answers, 15_000);
      await phone.heard.waitForSegments(answers, 15_000);
      await trailing;
      return firstFrame - ended;
    };
    const { processor } = p.services;
    await turn(off);
    await turn(on);
    await processor.flush();
    const storedBefore = processor.stats().stored;
    const withMemory: number[] = [];
    const without: number[] = [];
    for (let b = 0; b < blocks; b++) {
      progress(`block ${b + 1}/${blocks}: ${BLOCK} spoken turns off, ${BLOCK} on`);
      for (let i = 0; i < BLOCK; i++) without.push(await turn(off));
      for (let i = 0; i < BLOCK; i++) withMemory.push(await turn(on));
      await processor.flush();
    }
    return { withMemory, without, stored: processor.stats().stored - storedBefore };
  } finally {
    for (const phone of phones) {
      await phone.live.session.close().catch(() => undefined);
      await phone.mic.close().catch(() => undefined);
    }
    await p.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

export const spokenTurn: Scenario = {
  name: 'spoken-turn',
  async run({ rttMs, runs, progress }) {
    const blocks = Math.max(2, Math.ceil(runs / 2));
    const [remote, pg, inference] = await Promise.all([
      startRemoteOpenAI(rttMs),
      startTestPostgres(),
      startInferenceProcess(),
    ]);
    setChatDelay(remote.server, LLM_MS);
    try {
      const rows: Row[] = [];
      for (const turnDetection of TURN_DETECTIONS) {
        const tell = (what: string) => progress(`TURN_DETECTION=${turnDetection}: ${what}`);
        const { withMemory, without, stored } = await measure(
          { remote, postgresUrl: pg.url, executor: inference.executor, turnDetection },
          blocks,
          tell,
        );
        const base = summarize(without);
        const ours = summarize(withMemory);
        const r = ratio(ours.median, base.median)!;
        rows.push({
          scenario: 'spoken-turn',
          measure: `end of speech → first answer frame, TURN_DETECTION=${turnDetection}, LLM ${LLM_MS} ms, ${rttMs} ms RTT`,
          baseline: {
            label: 'memory off',
            figures: { medianMs: base.median, p95Ms: base.p95, turns: base.n },
          },
          ours: {
            label: 'memory on (every turn extracted)',
            figures: {
              medianMs: ours.median,
              p95Ms: ours.p95,
              turns: ours.n,
              memoriesStored: stored,
              inferenceProcessMB: inference.rssMB() ?? null,
            },
          },
          ratio: r,
          target: 'ratio <= 1.05',
          pass: r <= 1.05,
        });
      }
      return rows;
    } finally {
      await Promise.all([remote.close(), pg.stop(), inference.close()]);
    }
  },
};
