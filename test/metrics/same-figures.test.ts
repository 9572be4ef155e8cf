/**
 * The voice answer to "how is the pool?" and `/metrics` tell the same figures: one job process
 * (built as a job process builds it: pool, store, memory services) reports to the main process's
 * hub over its real socket; the sentence spoken from a `pool.stats()` snapshot and the scrape
 * after that snapshot's report agree on every number the sentence says; and the scrape moves
 * as a call's background work does (one extraction: turns, batches, the background lane).
 */
import { log } from '@livekit/agents';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessReporter } from '../../src/metrics/process-reporter.js';
import { ReportHub } from '../../src/metrics/report-hub.js';
import { RequestLatency, originsOf } from '../../src/metrics/request-latency.js';
import { WorkerMeter } from '../../src/metrics/worker-meter.js';
import type { PoolStats } from '../../src/pool/pool-stats.js';
import { describePoolStats } from '../../src/tools/pool-summary.js';
import { listeningPort, startMetricsServer } from '../../src/worker/metrics-server.js';
import {
  type MemoryFixture,
  type ProcessUnderTest,
  eventually,
  startMemoryFixture,
} from '../support/memory-fixture.js';
import { type PromSample, samplesOf, valueOf } from '../support/prometheus-text.js';

const P = 'memory_agent_';
let fx: MemoryFixture;
let job: ProcessUnderTest;
let hub: ReportHub;
let meter: WorkerMeter;
let server: Server;
let reporter: ProcessReporter;

beforeAll(async () => {
  fx = await startMemoryFixture();
  job = await fx.process();
  const logger = log();
  let gauges = () => [] as ReturnType<ReportHub['gauges']>;
  meter = new WorkerMeter({
    gauges: () => gauges(),
    env: {},
  });
  hub = new ReportHub(meter, logger);
  gauges = () => hub.gauges();
  await hub.listen();
  server = await startMetricsServer(
    {
      metrics: (request, response) => meter.prometheus.getMetricsRequestHandler(request, response),
      refreshReadiness: () => Promise.resolve(),
      notReadyBecause: () => [],
    },
    '127.0.0.1',
    0,
  );
  reporter = new ProcessReporter({
    socketPath: hub.socketPath,
    stats: () => job.pool.stats(),
    latency: new RequestLatency(originsOf({ openai: job.config.openai.baseURL })),
    logger,
  });
});

afterAll(async () => {
  reporter?.finish();
  server?.close();
  hub?.close();
  await meter?.shutdown();
  await fx?.stop();
});

async function scrape(): Promise<PromSample[]> {
  const res = await fetch(`http://127.0.0.1:${listeningPort(server)}/metrics`);
  return samplesOf(await res.text());
}

/** The numbers the spoken answer says, read back out of its words. */
function spokenNumbers(sentence: string) {
  return {
    open: Number(/(\d+) connections? (?:is|are) open/.exec(sentence)?.[1]),
    lanes: /\((\d+) for calls, (\d+) for background work\)/.exec(sentence)?.slice(1).map(Number),
    reusedPercent: Number(/(\d+) percent of requests reused/.exec(sentence)?.[1]),
    openaiFine: /OpenAI(?: and [^,.;]+)? (?:is|are) fine|All services are healthy/.test(sentence),
  };
}

/** The same numbers, as an operator's dashboard computes them from the scrape. */
function scrapedNumbers(samples: PromSample[]) {
  const requests = valueOf(samples, `${P}pool_requests_total`);
  const opened = valueOf(samples, `${P}pool_connections_opened_total`);
  return {
    open: valueOf(samples, `${P}pool_connections_open`),
    lanes: ['voice', 'background'].map((lane) =>
      valueOf(samples, `${P}pool_lane_connections`, { lane }),
    ),
    reusedPercent: Math.round(Math.max(0, 1 - opened / requests) * 100),
    openaiFine:
      valueOf(samples, `${P}pool_service_health`, { service: 'openai', status: 'healthy' }) === 1,
  };
}

describe('the voice answer and /metrics', () => {
  it('say the same figures, read from the same snapshot', async () => {
    await job.pool.checkHealth();
    for (let i = 0; i < 5; i++) await job.pool.openai.models.list();

    // A background health check may send a request between two reads: compare one snapshot
    // with the scrape that follows its own report, and retry if anything moved in between.
    const { said, scraped, stats } = await eventually(async () => {
      const snapshot: PoolStats = job.pool.stats();
      reporter.report();
      const samples = await eventually(async () => {
        const s = await scrape();
        expect(valueOf(s, `${P}pool_requests_total`)).toBe(snapshot.services.openai.requests);
        return s;
      }, 2_000);
      const said = spokenNumbers(describePoolStats(snapshot));
      const scraped = scrapedNumbers(samples);
      expect(scraped).toEqual(said);
      return { said, scraped, stats: snapshot };
    }, 10_000);
    expect(said.open).toBeGreaterThan(0);
    expect(said.lanes).toHaveLength(2);
    expect(said.reusedPercent).toBeGreaterThan(0);
    expect(said.openaiFine).toBe(true);
    console.info(
      `[metrics] voice answer ${JSON.stringify(said)} = /metrics ${JSON.stringify(scraped)} ` +
        `(${stats.services.openai.requests} requests)`,
    );
  });

  it("move with a call's traffic: an extraction shows in the memory and lane figures", async () => {
    const figure = (samples: PromSample[], name: string, labels?: Record<string, string>) =>
      valueOf(samples, P + name, labels);
    reporter.report();
    const before = await eventually(async () => {
      const s = await scrape();
      expect(figure(s, 'pool_requests_total')).toBe(job.pool.stats().services.openai.requests);
      return s;
    }, 2_000);
    const background = { lane: 'background' };

    const user = fx.user();
    job.services.processor.enqueue({
      userId: user,
      userText: 'My name is Wren and I keep bees.',
      assistantText: 'Hello Wren.',
    });
    await job.services.processor.flush();
    const extracted = job.pool.stats().components['memory'] as { turnsProcessed: number };
    expect(extracted.turnsProcessed).toBeGreaterThanOrEqual(1);
    reporter.report();

    const after = await eventually(async () => {
      const s = await scrape();
      expect(figure(s, 'memory_turns_processed_total')).toBeGreaterThan(
        figure(before, 'memory_turns_processed_total'),
      );
      return s;
    }, 2_000);
    expect(figure(after, 'memory_batches_stored_total')).toBeGreaterThan(
      figure(before, 'memory_batches_stored_total'),
    );
    // The extraction's request to OpenAI and the store's writes ride the background lane.
    expect(figure(after, 'pool_lane_requests_total', background)).toBeGreaterThan(
      figure(before, 'pool_lane_requests_total', background),
    );
    expect(figure(after, 'memory_queue_depth')).toBe(0);
  });
});
