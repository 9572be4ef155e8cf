/**
 * 18. Metrics scrape: how long `GET /metrics` takes on the main process, built as the worker
 * builds it (`startWorkerMetrics`: the report hub, the instruments, the Prometheus exporter, the
 * `/metrics` server), with 1 and with 4 live job processes reporting. Each "job process" is a
 * real pool that has served traffic, its production reporter writing to the hub's socket every
 * second; they run in this process here (in production they are processes of their own), so the
 * figure is conservative. The framework's health endpoint is not running: each scrape's
 * registration check is refused at once, as on a worker not yet registered.
 */
import { log } from '@livekit/agents';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { METRICS_SOCKET_ENV, type ProcessReporter } from '../../src/metrics/process-reporter.js';
import { startProcessReporter } from '../../src/metrics/start-reporter.js';
import { ConnectionPool } from '../../src/pool/connection-pool.js';
import { startWorkerMetrics } from '../../src/worker/worker-metrics.js';
import { testConfig } from '../../test/support/config.js';
import { type Scenario, round, summarize, timed } from '../harness.js';
import { startRemoteOpenAI } from '../support/remote-openai.js';

const SCRAPES = 50;
const TARGET_P95_MS = 50;

/** A free port on 127.0.0.1, picked by the system. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export const metricsScrape: Scenario = {
  name: 'metrics-scrape',
  async run({ rttMs, runs, progress }) {
    const remote = await startRemoteOpenAI(rttMs);
    const config = testConfig({
      OPENAI_BASE_URL: remote.baseURL,
      METRICS_PORT: String(await freePort()),
      HEALTH_PORT: String(await freePort()),
    });
    const socketBefore = process.env[METRICS_SOCKET_ENV];
    const metrics = (await startWorkerMetrics(config, log(), {}))!;
    const pools: ConnectionPool[] = [];
    const reporters: ProcessReporter[] = [];
    const url = `http://127.0.0.1:${config.metrics.port}/metrics`;
    const scrape = () =>
      timed(async () => {
        const response = await fetch(url);
        if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
        await response.text();
      });
    const addJobProcess = async (state: 'idle' | 'job') => {
      const pool = await ConnectionPool.create(config, { tls: { ca: remote.ca } });
      pools.push(pool);
      // Traffic, so every figure has a value and latency histograms have samples.
      for (let i = 0; i < 10; i++) await pool.openai.models.list();
      const env = { [METRICS_SOCKET_ENV]: metrics.hub.socketPath };
      const reporter = startProcessReporter(config, () => pool.stats(), log(), env)!;
      reporter.setState(state);
      reporters.push(reporter);
    };
    const measure = async (processes: number) => {
      await sleep(1_500); // two report intervals: every process has reported
      const samples: number[] = [];
      for (let run = 0; run < Math.max(1, runs); run++) {
        await scrape(); // unmeasured: the first scrape after a pause
        for (let i = 0; i < SCRAPES; i++) samples.push(await scrape());
      }
      const bytes = (await (await fetch(url)).text()).length;
      progress(`${processes} live job process(es): ${samples.length} scrapes, ${bytes} bytes`);
      return { ...summarize(samples), bytes };
    };
    try {
      await addJobProcess('job');
      const one = await measure(1);
      await addJobProcess('job');
      await addJobProcess('idle');
      await addJobProcess('idle');
      const four = await measure(4);
      const pass = four.p95 <= TARGET_P95_MS;
      progress(
        `verdict: /metrics with 4 live job processes p50 ${round(four.median)} / p95 ` +
          `${round(four.p95)} ms (target p95 <= ${TARGET_P95_MS} ms)${pass ? '; pass' : '; FAIL'}`,
      );
      return [
        {
          scenario: 'metrics-scrape',
          measure: `GET /metrics on the main process, ${SCRAPES * Math.max(1, runs)} scrapes`,
          baseline: {
            label: '1 live job process',
            figures: { medianMs: round(one.median), p95Ms: round(one.p95), bytes: one.bytes },
          },
          ours: {
            label: '4 live job processes (2 in a call, 2 idle)',
            figures: { medianMs: round(four.median), p95Ms: round(four.p95), bytes: four.bytes },
          },
          ratio: null,
          target: `p95 <= ${TARGET_P95_MS} ms with 4 live job processes`,
          // Fails if a scrape waited on the job processes (a round trip to each), on a slow
          // registration check, or if the exposition grew with every report instead of per series.
          pass,
        },
      ];
    } finally {
      for (const reporter of reporters) reporter.finish();
      await Promise.all(pools.map((pool) => pool.close()));
      metrics.server?.close();
      await metrics.hub.close();
      await metrics.meter.shutdown();
      if (socketBefore === undefined) delete process.env[METRICS_SOCKET_ENV];
      else process.env[METRICS_SOCKET_ENV] = socketBefore;
      await remote.close();
    }
  },
};
