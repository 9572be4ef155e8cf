/**
 * `/metrics`, `/ready` and the OTLP export of the built worker (`node dist/agent.js start`),
 * against the local LiveKit worker-protocol server, the local OpenAI server and a local OTLP
 * receiver. Two idle job processes, two jobs (four live job processes), one of them SIGKILLed:
 * the figures follow, counters never go back, promtool accepts every exposition; the drain
 * closes the idle processes without counting them lost, and its last flush delivers the OTLP
 * figures (the export interval is production's 60 s, so nothing else would).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { type MetricsRig, P, record, startMetricsRig } from '../support/metrics-rig.js';
import { attributesOf } from '../support/otlp-receiver.js';
import { valueOf } from '../support/prometheus-text.js';

let rig: MetricsRig;

beforeAll(async () => {
  rig = await startMetricsRig();
}, 30_000);

afterAll(async () => {
  await rig?.close();
});

describe('the worker exports its figures', () => {
  it('is not ready before registration, and ready once registered with a prewarmed pool', async () => {
    await rig.worker.waitForLine(record('metrics server listening (/metrics, /ready)'), 20_000);
    const before = await eventually(() => rig.get('/ready'));
    expect(before.status).toBe(503);
    expect(JSON.parse(before.body).reasons).toContain('not registered with LiveKit');

    await eventually(
      () =>
        expect(rig.worker.find(record('connection pool prewarmed')).length).toBeGreaterThanOrEqual(
          2,
        ),
      20_000,
    );
    rig.livekit.releaseRegistrations();
    await rig.livekit.waitForWorker(5_000);
    const ready = await eventually(async () => {
      const r = await rig.get('/ready');
      expect(r.status).toBe(200);
      return r;
    }, 5_000);
    expect(JSON.parse(ready.body)).toEqual({ ready: true, reasons: [] });
  }, 45_000);

  it('shows the worker and the aggregate of its idle job processes', async () => {
    const samples = await eventually(async () => {
      const s = await rig.scrape();
      expect(valueOf(s, `${P}worker_idle_processes`)).toBe(2);
      expect(valueOf(s, `${P}pool_service_health`, { service: 'openai', status: 'healthy' })).toBe(
        2,
      );
      return s;
    }, 5_000);
    expect(valueOf(samples, `${P}worker_registered`)).toBe(1);
    // The resource names the service; the id LiveKit gave at registration is worker_info's label.
    expect(samples.find((s) => s.name === 'target_info')?.labels).toMatchObject({
      service_name: 'memory-agent-e2e',
    });
    expect(valueOf(samples, `${P}worker_info`, { worker_id: rig.livekit.workers[0]!.id })).toBe(1);
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

  it('follows two jobs (four live job processes)', async () => {
    const requestsBefore = valueOf(rig.scrapes.at(-1)!, `${P}pool_requests_total`);
    const jobs = await Promise.all(
      ['room-a', 'room-b'].map((roomName) =>
        rig.livekit.dispatchJob({ roomName, roomUrl: rig.livekit.stallingRoomUrl }),
      ),
    );
    const entries = await Promise.all(
      jobs.map((j) => rig.worker.waitForLine(record('job entry', j.jobId), 5_000)),
    );
    killedPid = Number(entries[0]!.json?.pid);
    survivingJob = jobs[1]!.jobId;
    // The framework forks a replacement for each process taken: two jobs and two idle again.
    const samples = await eventually(async () => {
      const s = await rig.scrape();
      expect(valueOf(s, `${P}worker_active_jobs`)).toBe(2);
      expect(valueOf(s, `${P}worker_job_processes`)).toBe(4);
      expect(valueOf(s, `${P}worker_idle_processes`)).toBe(2);
      return s;
    }, 20_000);
    expect(valueOf(samples, `${P}worker_jobs_total`)).toBe(2);
    // The replacements' warm-up requests moved the request total.
    expect(valueOf(samples, `${P}pool_requests_total`)).toBeGreaterThan(requestsBefore);
    // How long a scrape takes is measured in `npm run bench` (metrics-scrape), not asserted here.
  }, 45_000);

  it('keeps the totals of a SIGKILLed job process and counts it as lost', async () => {
    const before = await rig.scrape();
    process.kill(killedPid, 'SIGKILL');
    const after = await eventually(async () => {
      const s = await rig.scrape();
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
    expect(rig.scrapes.length).toBeGreaterThan(4);
    const last = new Map<string, number>();
    for (const samples of rig.scrapes) {
      for (const s of samples) {
        if (!/_total$|_count$|_sum$|_bucket$/.test(s.name)) continue;
        const key = `${s.name}${JSON.stringify(s.labels)}`;
        expect(s.value, key).toBeGreaterThanOrEqual(last.get(key) ?? 0);
        last.set(key, s.value);
      }
    }
  });

  it('drains: not ready, idle processes closed without being lost, the OTLP figures flushed', async () => {
    const exportsBefore = rig.otlp.exports.length;
    const stopped = rig.worker.stop('SIGTERM', 20_000);
    const draining = await eventually(async () => {
      const r = await rig.get('/ready');
      expect(r.status).toBe(503);
      return JSON.parse(r.body) as { reasons: string[] };
    }, 5_000);
    expect(draining.reasons).toContain('draining');
    // The drain closes the idle processes: they say goodbye on exit, so only the SIGKILL is lost.
    const closed = await eventually(async () => {
      const s = await rig.scrape();
      expect(valueOf(s, `${P}worker_job_processes`)).toBe(1);
      return s;
    }, 10_000);
    expect(valueOf(closed, `${P}worker_draining`)).toBe(1);
    expect(valueOf(closed, `${P}worker_job_processes_lost_total`)).toBe(1);
    rig.livekit.terminateJob(survivingJob); // the running call ends; the drain is over
    expect((await stopped).forced).toBe(false);

    // The flush after the drain delivered the figures (the 60 s interval never came).
    const flushed = rig.otlp.exports.slice(exportsBefore).at(-1);
    expect(flushed, 'no OTLP export after the drain').toBeDefined();
    expect(rig.otlp.refused).toBe(0);
    expect(flushed!.resource['service.name']).toBe('memory-agent-e2e');
    expect(flushed!.resource['service.instance.id']).toEqual(expect.any(String));
    const byName = new Map(flushed!.metrics.map((m) => [m.name, m]));
    const valuesOf = (name: string) =>
      (byName.get(P + name)?.points ?? []).map((p) => p.asDouble ?? Number(p.asInt));
    expect(byName.get(`${P}pool_requests`)).toMatchObject({ kind: 'sum', unit: '{request}' });
    expect(
      byName.get(`${P}pool_requests`)!.points.map((p) => attributesOf(p.attributes)),
    ).toContainEqual({ service: 'openai' });
    expect(byName.get(`${P}pool_request_duration`)).toMatchObject({
      kind: 'histogram',
      unit: 'ms',
    });
    expect(byName.get(`${P}worker_load`)).toMatchObject({ kind: 'gauge', unit: '1' });
    expect(byName.get(`${P}worker_info`)?.points.map((p) => attributesOf(p.attributes))).toEqual([
      { worker_id: rig.livekit.workers[0]!.id },
    ]);
    expect(valuesOf('worker_draining')).toEqual([1]);
    expect(valuesOf('worker_job_processes_lost')).toEqual([1]);
  }, 30_000);
});
