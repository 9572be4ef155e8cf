/**
 * 17. Metrics reporting: a turn's latency in a text-mode AgentSession (the real framework and the
 * OpenAI plugin on the pool, memory processing on as in production) with the job process's
 * metrics reporter off vs on. "On" is what a job process runs when the worker has
 * `METRICS_PORT` or OTLP: `startProcessReporter` as `worker/job-process.ts` calls it (a
 * `pool.stats()` snapshot and one line to the main process's socket each second, undici's
 * diagnostics channels timing each request). The hub that reads the lines runs in this same
 * process here (in production it is the main process): a conservative setting. The modes
 * alternate in blocks.
 */
import { log, type voice } from '@livekit/agents';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCall } from '../../src/call/caller-call.js';
import type { ProcessReporter } from '../../src/metrics/process-reporter.js';
import { METRICS_SOCKET_ENV } from '../../src/metrics/process-reporter.js';
import { ReportHub, type ReportSink } from '../../src/metrics/report-hub.js';
import { startProcessReporter } from '../../src/metrics/start-reporter.js';
import { runTurn, startTextSession } from '../../test/support/agent-harness.js';
import { startTestPostgres } from '../../test/support/postgres.js';
import { type Scenario, ratio, summarize, timed } from '../harness.js';
import { setChatDelay, startJobProcess } from '../support/job-process.js';
import { startRemoteOpenAI } from '../support/remote-openai.js';

const LLM_MS = 250;
const BLOCK = 5;

/** Counts what reaches the main process's side, so a reporter that sent nothing fails the row. */
class CountingSink implements ReportSink {
  samples = 0;
  add(): void {
    this.samples++;
  }
  record(): void {
    this.samples++;
  }
}

export const metricsOverhead: Scenario = {
  name: 'metrics-overhead',
  async run({ rttMs, runs, progress }) {
    const blocks = Math.max(2, runs);
    const [remote, pg, dataDir] = await Promise.all([
      startRemoteOpenAI(rttMs),
      startTestPostgres(),
      mkdtemp(join(tmpdir(), 'bench-metrics-')),
    ]);
    setChatDelay(remote.server, LLM_MS);
    const sink = new CountingSink();
    const hub = new ReportHub(sink, log());
    const socketBefore = process.env[METRICS_SOCKET_ENV];
    await hub.listen();
    const p = await startJobProcess({ remote, postgresUrl: pg.url, dataDir });
    let session: voice.AgentSession | undefined;
    let reporter: ProcessReporter | undefined;
    try {
      const call = await openCall({
        pool: p.pool,
        config: p.config,
        services: p.services,
        userId: 'bench-metrics',
      });
      session = await startTextSession(p.pool, p.config, call.agent);
      call.attach(session);
      let said = 0;
      const turn = () => timed(() => runTurn(session!, `I like green tea number ${++said}.`));

      await turn(); // warm-up
      const reporting: number[] = [];
      const quiet: number[] = [];
      for (let b = 0; b < blocks; b++) {
        progress(`block ${b + 1}/${blocks}: ${BLOCK} turns without reporting, ${BLOCK} with`);
        for (let i = 0; i < BLOCK; i++) quiet.push(await turn());
        reporter = startProcessReporter(p.config, () => p.pool.stats(), log());
        reporter?.setState('job');
        for (let i = 0; i < BLOCK; i++) reporting.push(await turn());
        reporter?.finish();
        reporter = undefined;
      }
      const base = summarize(quiet);
      const ours = summarize(reporting);
      const r = ratio(ours.median, base.median)!;
      const pass = r <= 1.05 && sink.samples > 0;
      progress(
        `verdict: reporting on/off ${r} (target <= 1.05), ${sink.samples} samples reported` +
          (pass ? '; pass' : '; FAIL'),
      );
      return [
        {
          scenario: 'metrics-overhead',
          measure: `turn latency, text-mode session, LLM ${LLM_MS} ms, ${rttMs} ms RTT`,
          baseline: {
            label: 'metrics reporting off',
            figures: { medianMs: base.median, p95Ms: base.p95, turns: base.n },
          },
          ours: {
            label: "metrics reporting on (the job process's reporter, production settings)",
            figures: {
              medianMs: ours.median,
              p95Ms: ours.p95,
              turns: ours.n,
              samplesReported: sink.samples,
            },
          },
          ratio: r,
          target: 'ratio <= 1.05, samples reported',
          // Fails if reporting held the event loop during turns (a synchronous walk of the
          // stats per request, a blocking write), or if nothing reached the hub.
          pass,
        },
      ];
    } finally {
      reporter?.finish();
      await session?.close().catch(() => undefined);
      await p.close();
      await hub.close();
      if (socketBefore === undefined) delete process.env[METRICS_SOCKET_ENV];
      else process.env[METRICS_SOCKET_ENV] = socketBefore;
      await Promise.all([remote.close(), pg.stop()]);
      await rm(dataDir, { recursive: true, force: true });
    }
  },
};
