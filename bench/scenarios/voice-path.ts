/**
 * 7. Voice path: a turn's latency in a text-mode AgentSession (the real framework and the
 * OpenAI plugin on the pool, the local LLM answering every chat completion after a fixed delay)
 * with background memory processing on vs off. "On" is the heaviest case: every turn carries a
 * fact and is extracted at once (batch size 1), so an extraction call and a `save_memories` write
 * run during the next turn. "Off": the same kind of call, its turns not sent to the processor.
 * The modes alternate in blocks; the processor is idle before every "off" block.
 */
import type { voice } from '@livekit/agents';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCall } from '../../src/call/caller-call.js';
import { runTurn, startTextSession } from '../../test/support/agent-harness.js';
import { startTestPostgres } from '../../test/support/postgres.js';
import { type Scenario, ratio, summarize, timed } from '../harness.js';
import { setChatDelay, startJobProcess } from '../support/job-process.js';
import { startRemoteOpenAI } from '../support/remote-openai.js';

const LLM_MS = 250;
const BLOCK = 5;
const FACTS = [
  (n: number) => `I like green tea number ${n}.`,
  (n: number) => `I'm working on shed number ${n}.`,
  (n: number) => `I prefer window seats in row ${n}.`,
];

export const voicePath: Scenario = {
  name: 'voice-path',
  async run({ rttMs, runs, progress }) {
    const blocks = Math.max(2, runs);
    const [remote, pg, dataDir] = await Promise.all([
      startRemoteOpenAI(rttMs),
      startTestPostgres(),
      mkdtemp(join(tmpdir(), 'bench-voice-')),
    ]);
    setChatDelay(remote.server, LLM_MS);
    const p = await startJobProcess({
      remote,
      postgresUrl: pg.url,
      dataDir,
      env: { MEMORY_BATCH_SIZE: '1', MEMORY_BATCH_DELAY_MS: '0' },
    });
    const sessions: voice.AgentSession[] = [];
    try {
      const open = async (userId: string, withMemory: boolean) => {
        const call = await openCall({
          pool: p.pool,
          config: p.config,
          services: p.services,
          userId,
        });
        const session = await startTextSession(p.pool, p.config, call.agent);
        sessions.push(session);
        if (withMemory) call.attach(session);
        return session;
      };
      const on = await open('bench-voice-on', true);
      const off = await open('bench-voice-off', false);
      const { processor } = p.services;
      let said = 0;
      const turn = (session: voice.AgentSession) =>
        timed(() => runTurn(session, FACTS[said % FACTS.length]!(++said)));

      // Warm-up: one turn each, then nothing left in the background.
      await turn(off);
      await turn(on);
      await processor.flush();
      const stored = processor.stats().stored;

      const withMemory: number[] = [];
      const without: number[] = [];
      for (let b = 0; b < blocks; b++) {
        progress(`block ${b + 1}/${blocks}: ${BLOCK} turns off, ${BLOCK} turns on`);
        for (let i = 0; i < BLOCK; i++) without.push(await turn(off));
        for (let i = 0; i < BLOCK; i++) withMemory.push(await turn(on));
        await processor.flush();
      }
      const memory = processor.stats();
      const base = summarize(without);
      const ours = summarize(withMemory);
      const r = ratio(ours.median, base.median)!;
      return [
        {
          scenario: 'voice-path',
          measure: `turn latency, text-mode session, LLM ${LLM_MS} ms, ${rttMs} ms RTT`,
          baseline: {
            label: 'memory processing off',
            figures: { medianMs: base.median, p95Ms: base.p95, turns: base.n },
          },
          ours: {
            label: 'memory processing on (every turn extracted)',
            figures: {
              medianMs: ours.median,
              p95Ms: ours.p95,
              turns: ours.n,
              memoriesStored: memory.stored - stored,
              extractionP50Ms: memory.extractionLatencyMs.p50,
            },
          },
          ratio: r,
          target: 'ratio <= 1.05',
          pass: r <= 1.05,
        },
      ];
    } finally {
      await Promise.all(sessions.map((s) => s.close().catch(() => undefined)));
      await p.close();
      await Promise.all([remote.close(), pg.stop()]);
      await rm(dataDir, { recursive: true, force: true });
    }
  },
};
