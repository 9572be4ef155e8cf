/**
 * Test equipment for `test/worker/metrics.e2e.test.ts`: the built worker with `/metrics` on and
 * OTLP pointed at a local receiver (production's export interval), the local LiveKit
 * worker-protocol server holding registration, the local OpenAI server; and a scraper that keeps
 * every exposition (checked by promtool when present) for the never-backwards check.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { TEST_SECRETS } from './config.js';
import { type LiveKitServer, startLiveKitServer } from './livekit-server.js';
import { type OpenAIServer, startOpenAIServer } from './openai-server.js';
import { type OtlpReceiver, startOtlpReceiver } from './otlp-receiver.js';
import { type PromSample, samplesOf } from './prometheus-text.js';
import { promtoolCheck, promtoolPresent, promtoolRequired } from './promtool.js';
import { type LogLine, type WorkerProcess, freePort, startWorker } from './worker-process.js';

/** Every exported name's prefix. */
export const P = 'memory_agent_';

/**
 * @param msg a log line's message
 * @param jobId the job it must name, if any
 * @returns a matcher for `worker.waitForLine` / `worker.find`
 */
export const record =
  (msg: string, jobId?: string) =>
  (line: LogLine): boolean =>
    line.json !== undefined && line.msg === msg && (jobId === undefined || line.json.job === jobId);

export interface MetricsRig {
  livekit: LiveKitServer;
  openai: OpenAIServer;
  otlp: OtlpReceiver;
  worker: WorkerProcess;
  /** Every scrape, in order: counters are checked never to go back across all of them. */
  scrapes: PromSample[][];
  /** @returns a GET on the metrics port, with its wall time */
  get(path: string): Promise<{ status: number; body: string }>;
  /** @returns a checked `/metrics` exposition, also kept in `scrapes` */
  scrape(): Promise<PromSample[]>;
  close(): Promise<void>;
}

/**
 * @returns the rig, the worker started with two idle job processes and registration held
 * @throws when CI lacks promtool (`.ci/run` installs it)
 */
export async function startMetricsRig(): Promise<MetricsRig> {
  const promtool = promtoolPresent();
  if (!promtool && promtoolRequired())
    throw new Error('promtool is missing in CI (.ci/run installs it)');
  const [livekit, openai, otlp, healthPort, metricsPort, dataDir] = await Promise.all([
    startLiveKitServer({
      apiKey: TEST_SECRETS.livekitKey,
      apiSecret: TEST_SECRETS.livekitSecret,
      holdRegistration: true,
      roomStallMs: 30_000, // the jobs stay in ctx.connect() until the test ends them
    }),
    startOpenAIServer(),
    startOtlpReceiver(),
    freePort(),
    freePort(),
    mkdtemp(join(tmpdir(), 'e2e-metrics-data-')),
  ]);
  const worker = startWorker({
    env: {
      LIVEKIT_URL: livekit.url,
      LIVEKIT_API_KEY: TEST_SECRETS.livekitKey,
      LIVEKIT_API_SECRET: TEST_SECRETS.livekitSecret,
      HEALTH_PORT: String(healthPort),
      METRICS_PORT: String(metricsPort),
      NUM_IDLE_PROCESSES: '2',
      OPENAI_BASE_URL: openai.baseURL,
      OPENAI_API_KEY: TEST_SECRETS.openai,
      MEMORY_DATA_DIR: dataDir,
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
      OTEL_SERVICE_NAME: 'memory-agent-e2e',
      // OTEL_METRIC_EXPORT_INTERVAL unset: production's 60 s, so within the test only the
      // flush at the end of the drain can deliver anything.
      LOG_LEVEL: 'debug',
    },
  });
  const scrapes: PromSample[][] = [];
  const get = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${metricsPort}${path}`, {
      signal: AbortSignal.timeout(2_000),
    });
    const body = await res.text();
    return { status: res.status, body };
  };
  return {
    livekit,
    openai,
    otlp,
    worker,
    scrapes,
    get,
    async scrape() {
      const { status, body } = await get('/metrics');
      expect(status).toBe(200);
      if (promtool) expect(promtoolCheck(body)).toEqual({ status: 0, output: '' });
      const samples = samplesOf(body);
      scrapes.push(samples);
      return samples;
    },
    async close() {
      await worker.kill();
      await Promise.all([livekit.close(), openai.close(), otlp.close()]);
      await rm(dataDir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
    },
  };
}
