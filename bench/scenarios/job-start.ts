/**
 * Job start (part of scenario 8, pool build): from a job's entry to the first request of the
 * call — the greeting's speech — arriving at the OpenAI front, in a prewarmed process (pool,
 * Postgres store and services built and warmed before the job) vs a cold one that does what a
 * naive agent does on entry (bench/support/naive-job-entry.ts). Both reach OpenAI (HTTPS) and
 * Postgres through delay proxies. Module import time is not included: idle processes import
 * before any job, prewarmed or not. Connections are counted where they arrive: at the OpenAI
 * server and at the proxy in front of Postgres.
 */
import { randomUUID } from 'node:crypto';
import { openCall } from '../../src/call/caller-call.js';
import { testConfig } from '../../test/support/config.js';
import { type Row, ratio, summarize } from '../harness.js';
import type { DelayProxy } from '../support/delay-proxy.js';
import { type BenchProcess, startJobProcess } from '../support/job-process.js';
import { naiveJobEntry } from '../support/naive-job-entry.js';
import type { RemoteOpenAI } from '../support/remote-openai.js';

interface Attempt {
  ms: number;
  /** New connections from entry until the speech was answered: OpenAI + Postgres. */
  opened: number;
}

/**
 * Runs `runs` job starts each way (after one unmeasured warm-up).
 *
 * The connection check fails when the prewarm stops readying the call's path: `prewarm: false`
 * (the job builds its pool on entry, as `runJob` does when prewarm failed), a pool that skips
 * its OpenAI warm-up, or a store without `warmUp` (the call's memory load opens a connection).
 * The time check fails when prewarming gains nothing over a naive cold start.
 * @param options the OpenAI front, Postgres (URL through its delay proxy, and that proxy), a
 *   data directory for outboxes, the run count, and whether ours is prewarmed (default: yes)
 * @returns two rows: connections opened on the way to the first request, and the time to it
 */
export async function measureJobStart(options: {
  remote: RemoteOpenAI;
  postgresUrl: string;
  postgresProxy: DelayProxy;
  dataDir: string;
  runs: number;
  prewarm?: boolean;
  progress?: (message: string) => void;
}): Promise<Row[]> {
  const { remote, postgresUrl, postgresProxy, dataDir } = options;
  const prewarm = options.prewarm ?? true;
  const config = testConfig({ OPENAI_BASE_URL: remote.baseURL });
  const start = () => startJobProcess({ remote, postgresUrl, dataDir });
  const opened = () => remote.server.connectionsOpened + postgresProxy.accepted;
  const speechArrival = () => remote.server.requests.findLast((r) => r.path === '/v1/audio/speech');

  /** From entry (now) through `work`: when the speech arrived, and what was opened. */
  const attempt = async (work: () => Promise<void>): Promise<Attempt> => {
    const before = opened();
    const entryAt = Date.now();
    await work();
    return { ms: speechArrival()!.at - entryAt, opened: opened() - before };
  };
  const ours = async (): Promise<Attempt> => {
    let job: BenchProcess | undefined = prewarm ? await start() : undefined;
    // As production's prewarm: the common greetings' speech, made on the background lane.
    await job?.services.greetings.prepareCommonAudio();
    try {
      return await attempt(async () => {
        job ??= await start();
        const call = await openCall({
          pool: job.pool,
          config: job.config,
          services: job.services,
          userId: `bench-start-${randomUUID()}`,
        });
        const speech = await job.pool.openai.audio.speech.create({
          model: job.config.openai.ttsModel,
          voice: job.config.openai.ttsVoice,
          input: call.greeting.text,
          response_format: 'pcm',
        });
        await speech.arrayBuffer();
      });
    } finally {
      await job?.close();
    }
  };
  const naive = () =>
    attempt(() =>
      naiveJobEntry({ remote, postgresUrl, config, userId: `bench-start-${randomUUID()}` }),
    );

  const cold: Attempt[] = [];
  const warm: Attempt[] = [];
  for (let run = 0; run <= options.runs; run++) {
    options.progress?.(`job start run ${run}/${options.runs}${run === 0 ? ' (warm-up)' : ''}`);
    const w = await ours();
    const c = await naive();
    if (run === 0) continue;
    warm.push(w);
    cold.push(c);
  }

  const cb = summarize(cold.map((a) => a.ms));
  const wb = summarize(warm.map((a) => a.ms));
  const coldOpened = Math.min(...cold.map((a) => a.opened));
  const warmOpened = Math.max(...warm.map((a) => a.opened));
  const startRatio = ratio(wb.median, cb.median)!;
  const baselineLabel = 'cold process, naive entry (clients built on entry)';
  const oursLabel = prewarm ? 'prewarmed process' : 'process built on entry (no prewarm)';
  return [
    {
      scenario: 'pool-build',
      measure: 'job start: connections opened from entry to the first request (OpenAI + Postgres)',
      baseline: { label: baselineLabel, figures: { connections: coldOpened } },
      ours: { label: oursLabel, figures: { connections: warmOpened } },
      ratio: null,
      // The baseline must open its own (at least one each way), or nothing was counted.
      target: 'ours 0 (baseline >= 2)',
      pass: warmOpened === 0 && coldOpened >= 2,
    },
    {
      scenario: 'pool-build',
      measure: 'job start: entry to first request at the server',
      baseline: { label: baselineLabel, figures: { medianMs: cb.median, p95Ms: cb.p95 } },
      ours: { label: oursLabel, figures: { medianMs: wb.median, p95Ms: wb.p95 } },
      ratio: startRatio,
      target: 'ratio < 1',
      pass: startRatio < 1,
    },
  ];
}
