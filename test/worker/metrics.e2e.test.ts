/**
 * `/metrics`, `/ready` and the OTLP export of the built worker (`node dist/agent.js start`),
 * against the local LiveKit worker-protocol server, the local OpenAI server and a local OTLP
 * receiver. Two idle job processes, two jobs (four live job processes), one of them SIGKILLed:
 * the figures follow, counters never go back, promtool accepts every exposition.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_SECRETS } from '../support/config.js';
import { eventually } from '../support/eventually.js';
import { type LiveKitServer, startLiveKitServer } from '../support/livekit-server.js';
import { type OpenAIServer, startOpenAIServer } from '../support/openai-server.js';
import { type OtlpReceiver, attributesOf, startOtlpReceiver } from '../support/otlp-receiver.js';
import { type PromSample, samplesOf, valueOf } from '../support/prometheus-text.js';
import { promtoolCheck, promtoolPresent, promtoolRequired } from '../support/promtool.js';
import {
  type LogLine,
  type WorkerProcess,
  freePort,
  startWorker,
} from '../support/worker-process.js';

const P = 'memory_agent_';
const record =
  (msg: string, jobId?: string) =>
  (line: LogLine): boolean =>
    line.json !== undefined && line.msg === msg && (jobId === undefined || line.json.job === jobId);

let livekit: LiveKitServer;
let openai: OpenAIServer;
let otlp: OtlpReceiver;
let worker: WorkerProcess;
let metricsPort: number;
let dataDir: string;
/** Every scrape, in order: counters are checked never to go back across all of them. */
const scrapes: PromSample[][] = [];
const PROMTOOL = promtoolPresent();

async function get(path: string): Promise<{ status: number; body: string; ms: number }> {
  const started = performance.now();
  const res = await fetch(`http://127.0.0.1:${metricsPort}${path}`, {
    signal: AbortSignal.timeout(2_000),
  });
  const body = await res.text();
  return { status: res.status, body, ms: performance.now() - started };
}

async function scrape(): Promise<PromSample[]> {
  const { status, body } = await get('/metrics');
  expect(status).toBe(200);
  if (PROMTOOL) expect(promtoolCheck(body)).toEqual({ status: 0, output: '' });
  const samples = samplesOf(body);
  scrapes.push(samples);
  return samples;
}

beforeAll(async () => {
  if (!PROMTOOL && promtoolRequired())
    throw new Error('promtool is missing in CI (.ci/run installs it)');
  let healthPort: number;
  [livekit, openai, otlp, healthPort, metricsPort, dataDir] = await Promise.all([
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
  worker = startWorker({
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
      // The operator's export cadence (the SDK's default is 60 s): every 2 s here.
      OTEL_METRIC_EXPORT_INTERVAL: '2000',
      LOG_LEVEL: 'debug',
    },
  });
}, 30_000);

afterAll(async () => {
  await worker?.kill();
  await Promise.all([livekit?.close(), openai?.close(), otlp?.close()]);
  if (dataDir) await rm(dataDir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
});

describe('the worker exports its figures', () => {
  it('is not ready before registration, and ready once registered with a prewarmed pool', async () => {
    await worker.waitForLine(record('metrics server listening (/metrics, /ready)'), 20_000);
    const before = await eventually(() => get('/ready'));
    expect(before.status).toBe(503);
    expect(JSON.parse(before.body).reasons).toContain('not registered with LiveKit');

    await eventually(
      () =>
        expect(worker.find(record('connection pool prewarmed')).length).toBeGreaterThanOrEqual(2),
      20_000,
    );
    livekit.releaseRegistrations();
    await livekit.waitForWorker(5_000);
    const ready = await eventually(async () => {
      const r = await get('/ready');
      expect(r.status).toBe(200);
      return r;
    }, 5_000);
    expect(JSON.parse(ready.body)).toEqual({ ready: true, reasons: [] });
  }, 45_000);

  it('shows the worker and the aggregate of its idle job processes', async () => {
    const samples = await eventually(async () => {
      const s = await scrape();
      expect(valueOf(s, `${P}worker_idle_processes`)).toBe(2);
      expect(valueOf(s, `${P}pool_service_health`, { service: 'openai', status: 'healthy' })).toBe(
        2,
      );
      return s;
    }, 5_000);
    expect(valueOf(samples, `${P}worker_registered`)).toBe(1);
    // The resource: the service name and the id LiveKit gave at registration.
    expect(samples.find((s) => s.name === 'target_info')?.labels).toMatchObject({
      service_name: 'memory-agent-e2e',
      livekit_worker_id: livekit.workers[0]!.id,
    });
    expect(valueOf(samples, `${P}worker_draining`)).toBe(0);
    expect(valueOf(samples, `${P}worker_active_jobs`)).toBe(0);
    expect(valueOf(samples, `${P}worker_job_processes`)).toBe(2);
    // Each prewarm sent its warm-up request to OpenAI; the latency histogram saw them.
    expect(
      valueOf(samples, `${P}pool_requests_total`, { service: 'openai' }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      valueOf(samples, `${P}pool_request_duration_count`, { service: 'openai' }),
    ).toBeGreaterThanOrEqual(2);
    expect(valueOf(samples, `${P}pool_connections_opened_total`)).toBeGreaterThanOrEqual(2);
    expect(valueOf(samples, `${P}worker_reports_dropped_total`)).toBe(0);
  }, 10_000);

  let killedPid: number;
  let survivingJob: string;

  it('follows two jobs (four live job processes) and answers in under 50 ms', async () => {
    const requestsBefore = valueOf(scrapes.at(-1)!, `${P}pool_requests_total`);
    const jobs = await Promise.all(
      ['room-a', 'room-b'].map((roomName) =>
        livekit.dispatchJob({ roomName, roomUrl: livekit.stallingRoomUrl }),
      ),
    );
    const entries = await Promise.all(
      jobs.map((j) => worker.waitForLine(record('job entry', j.jobId), 5_000)),
    );
    killedPid = Number(entries[0]!.json?.pid);
    survivingJob = jobs[1]!.jobId;
    // The framework forks a replacement for each process taken: two jobs and two idle again.
    const samples = await eventually(async () => {
      const s = await scrape();
      expect(valueOf(s, `${P}worker_active_jobs`)).toBe(2);
      expect(valueOf(s, `${P}worker_job_processes`)).toBe(4);
      expect(valueOf(s, `${P}worker_idle_processes`)).toBe(2);
      return s;
    }, 20_000);
    expect(valueOf(samples, `${P}worker_jobs_total`)).toBe(2);
    // The replacements' warm-up requests moved the request total.
    expect(valueOf(samples, `${P}pool_requests_total`)).toBeGreaterThan(requestsBefore);

    const timings: number[] = [];
    for (let i = 0; i < 20; i++) timings.push((await get('/metrics')).ms);
    timings.sort((a, b) => a - b);
    console.info(
      `[e2e] /metrics with 4 live job processes: median ${timings[10]!.toFixed(1)} ms, ` +
        `max ${timings.at(-1)!.toFixed(1)} ms (20 scrapes)`,
    );
    expect(timings[10]).toBeLessThan(50);
  }, 45_000);

  it('keeps the totals of a SIGKILLed job process and counts it as lost', async () => {
    const before = await scrape();
    process.kill(killedPid, 'SIGKILL');
    const after = await eventually(async () => {
      const s = await scrape();
      expect(valueOf(s, `${P}worker_job_processes_lost_total`)).toBe(1);
      expect(valueOf(s, `${P}worker_job_processes`)).toBe(3);
      return s;
    }, 10_000);
    for (const name of [
      'pool_requests_total',
      'pool_connections_opened_total',
      'worker_jobs_total',
    ])
      expect(valueOf(after, P + name)).toBeGreaterThanOrEqual(valueOf(before, P + name));
    // Its gauges are gone with it: one process fewer sees OpenAI healthy.
    expect(
      valueOf(after, `${P}pool_service_health`, { service: 'openai', status: 'healthy' }),
    ).toBe(
      valueOf(before, `${P}pool_service_health`, { service: 'openai', status: 'healthy' }) - 1,
    );
  }, 20_000);

  it('never lets a counter go back across every scrape', () => {
    expect(scrapes.length).toBeGreaterThan(4);
    const last = new Map<string, number>();
    for (const samples of scrapes) {
      for (const s of samples) {
        if (!/_total$|_count$|_sum$|_bucket$/.test(s.name)) continue;
        const key = `${s.name}${JSON.stringify(s.labels)}`;
        expect(s.value, key).toBeGreaterThanOrEqual(last.get(key) ?? 0);
        last.set(key, s.value);
      }
    }
  });

  it('exports the same instruments over OTLP/HTTP, with service name and worker id', async () => {
    const workerId = livekit.workers[0]!.id;
    const received = await eventually(() => {
      // The latest export: it holds every series recorded so far (cumulative temporality).
      const found = otlp.exports.findLast((e) => e.resource['livekit.worker.id'] === workerId);
      expect(found?.metrics.map((m) => m.name)).toContain(`${P}pool_request_duration`);
      return found!;
    }, 10_000);
    expect(otlp.refused).toBe(0);
    expect(received.resource['service.name']).toBe('memory-agent-e2e');
    const byName = new Map(received.metrics.map((m) => [m.name, m]));
    const requests = byName.get(`${P}pool_requests`);
    expect(requests).toMatchObject({ kind: 'sum', unit: '{request}' });
    expect(requests!.points.map((p) => attributesOf(p.attributes))).toContainEqual({
      service: 'openai',
    });
    expect(byName.get(`${P}pool_request_duration`)).toMatchObject({
      kind: 'histogram',
      unit: 'ms',
    });
    expect(byName.get(`${P}worker_load`)).toMatchObject({ kind: 'gauge', unit: '1' });
    expect(
      byName.get(`${P}pool_service_health`)?.points.map((p) => attributesOf(p.attributes)),
    ).toContainEqual({ service: 'openai', status: 'healthy' });
  }, 15_000);

  it('is not ready while it drains, and says so', async () => {
    const stopped = worker.stop('SIGTERM', 20_000);
    const draining = await eventually(async () => {
      const r = await get('/ready');
      expect(r.status).toBe(503);
      return JSON.parse(r.body) as { reasons: string[] };
    }, 5_000);
    expect(draining.reasons).toContain('draining');
    expect(valueOf(await scrape(), `${P}worker_draining`)).toBe(1);
    livekit.terminateJob(survivingJob); // the running call ends; the drain is over
    expect((await stopped).forced).toBe(false);
    // The draining worker's figures went out over OTLP too (pushed every 2 s, and once more
    // after the drain, before the worker exits).
    const drainingPoints = otlp.exports
      .flatMap((e) => e.metrics)
      .filter((m) => m.name === `${P}worker_draining`)
      .flatMap((m) => m.points.map((p) => p.asDouble ?? Number(p.asInt)));
    expect(drainingPoints).toContain(1);
  }, 30_000);
});
