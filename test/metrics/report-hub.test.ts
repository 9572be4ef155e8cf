/**
 * The report socket between job processes and the main process, over a real Unix socket: what a
 * process adds stays added when it dies, its gauges leave with it, a malformed line is dropped
 * (one log line, counted) without losing the lines around it, and a reporter's increases add up
 * to its totals even when a total is read lower once.
 */
import { spawn } from 'node:child_process';
import { type Socket, createConnection } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/lib/logger.js';
import { ProcessReporter } from '../../src/metrics/process-reporter.js';
import { ReportHub, type ReportSink } from '../../src/metrics/report-hub.js';
import type { PoolStats } from '../../src/pool/pool-stats.js';
import { eventually } from '../support/eventually.js';

class RecordingSink implements ReportSink {
  readonly totals = new Map<string, number>();
  readonly observations: number[] = [];
  add(name: string, labels: Record<string, string>, value: number): void {
    const key = `${name}${JSON.stringify(labels)}`;
    this.totals.set(key, (this.totals.get(key) ?? 0) + value);
  }
  record(_name: string, _labels: Record<string, string>, value: number): void {
    this.observations.push(value);
  }
  total(name: string, labels: Record<string, string> = {}): number {
    return this.totals.get(`${name}${JSON.stringify(labels)}`) ?? 0;
  }
}

const warnings: unknown[][] = [];
const logger = {
  warn: (...args: unknown[]) => warnings.push(args),
  debug: () => undefined,
} as unknown as Logger;

const hubs: ReportHub[] = [];
const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const h of hubs.splice(0)) h.close();
  warnings.length = 0;
});

async function startHub(): Promise<{ hub: ReportHub; sink: RecordingSink }> {
  const sink = new RecordingSink();
  const hub = new ReportHub(sink, logger);
  hubs.push(hub);
  await hub.listen();
  return { hub, sink };
}

async function connect(hub: ReportHub): Promise<Socket> {
  const socket = createConnection(hub.socketPath);
  sockets.push(socket);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return socket;
}

const line = (report: Record<string, unknown>) =>
  `${JSON.stringify({ pid: 4242, state: 'idle', poolBuilt: true, counters: [], gauges: [], observations: [], ...report })}\n`;

describe('the report hub', () => {
  it('keeps what a killed process counted, drops its gauges and counts it as lost', async () => {
    const { hub, sink } = await startHub();
    const socket = await connect(hub);
    socket.write(
      line({
        state: 'job',
        counters: [{ name: 'pool_requests', labels: { service: 'openai' }, value: 3 }],
        gauges: [{ name: 'memory_queue_depth', labels: {}, value: 4 }],
        observations: [{ name: 'pool_request_duration', labels: { service: 'openai' }, value: 12 }],
      }),
    );
    await eventually(() => expect(hub.gauges()).toHaveLength(1));
    expect(hub.processes()).toEqual({ idle: 0, job: 1, total: 1, poolBuilt: 1 });
    expect(sink.total('worker_jobs')).toBe(1);

    socket.destroy(); // as a SIGKILL leaves it: no last line
    await eventually(() => expect(hub.processes().total).toBe(0));
    expect(hub.gauges()).toEqual([]);
    expect(sink.total('pool_requests', { service: 'openai' })).toBe(3);
    expect(sink.observations).toEqual([12]);
    expect(sink.total('worker_job_processes_lost')).toBe(1);
  });

  it('does not count a process that said goodbye as lost', async () => {
    const { hub, sink } = await startHub();
    const socket = await connect(hub);
    socket.write(line({ state: 'job' }));
    await eventually(() => expect(hub.processes().job).toBe(1));
    socket.end(line({ state: 'ended' }));
    await eventually(() => expect(hub.processes().total).toBe(0));
    expect(sink.total('worker_job_processes_lost')).toBe(0);
  });

  it('drops a malformed line whole, logs once, counts each, and applies the next lines', async () => {
    const { hub, sink } = await startHub();
    const socket = await connect(hub);
    socket.write('not json\n');
    socket.write(
      line({ counters: [{ name: 'pool_requests', labels: { service: 'x' }, value: -1 }] }),
    );
    socket.write(line({ counters: [{ name: 'no_such_metric', labels: {}, value: 1 }] }));
    socket.write(
      line({ counters: [{ name: 'pool_requests', labels: { secret: 'x' }, value: 1 }] }),
    );
    socket.write(
      line({ counters: [{ name: 'pool_requests', labels: { service: 'openai' }, value: 2 }] }),
    );
    await eventually(() => expect(sink.total('pool_requests', { service: 'openai' })).toBe(2));
    expect(sink.total('worker_reports_dropped')).toBe(4);
    expect(sink.total('pool_requests', { service: 'x' })).toBe(0);
    expect(warnings).toHaveLength(1);
    expect(socket.destroyed).toBe(false);
  });

  it("combines gauges per series: summed, or the highest where the spec says 'max'", async () => {
    const { hub } = await startHub();
    const report = (p95: number, depth: number) =>
      line({
        gauges: [
          { name: 'memory_extraction_latency_p95', labels: {}, value: p95 },
          { name: 'memory_queue_depth', labels: {}, value: depth },
        ],
      });
    (await connect(hub)).write(report(300, 2));
    (await connect(hub)).write(report(500, 3));
    await eventually(() => expect(hub.gauges()).toHaveLength(2));
    await eventually(() =>
      expect(hub.gauges().find((g) => g.name === 'memory_queue_depth')?.value).toBe(5),
    );
    expect(hub.gauges().find((g) => g.name === 'memory_extraction_latency_p95')?.value).toBe(500);
  });

  it('does not count an idle process that exits without finishing as lost', async () => {
    const { hub, sink } = await startHub();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/support/exiting-reporter.ts', hub.socketPath],
      { stdio: 'inherit' },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await eventually(() => expect(hub.processes().total).toBe(1), 10_000);
    expect(await exited).toBe(0);
    await eventually(() => expect(hub.processes().total).toBe(0));
    expect(sink.total('worker_job_processes_lost')).toBe(0);
  }, 15_000);

  it('refuses a line longer than a report can be, and goes on', async () => {
    const { hub, sink } = await startHub();
    const socket = await connect(hub);
    socket.write('x'.repeat(300 * 1024));
    socket.write('\n');
    socket.write(line({ counters: [{ name: 'pool_connections_opened', labels: {}, value: 1 }] }));
    await eventually(() => expect(sink.total('pool_connections_opened')).toBe(1));
    expect(sink.total('worker_reports_dropped')).toBeGreaterThanOrEqual(1);
  });

  it('makes its socket reachable by this user only', async () => {
    const { hub } = await startHub();
    const { statSync } = await import('node:fs');
    const { dirname } = await import('node:path');
    expect(statSync(dirname(hub.socketPath)).mode & 0o777).toBe(0o700);
  });
});

describe('a process reporter', () => {
  it('sends increases that add up to its totals, never a decrease', async () => {
    const { sink, hub } = await startHub();
    let requests = 3;
    const stats = () =>
      ({
        services: {
          openai: {
            configured: true,
            requests,
            errors: 0,
            inFlight: 0,
            health: { status: 'healthy' },
          },
          supabase: { configured: false },
        },
        otherHealth: {},
        connections: {
          opened: 1,
          tlsHandshakes: 0,
          tlsSessionsResumed: 0,
          connectErrors: 0,
          perOrigin: {},
        },
        components: {},
      }) as unknown as PoolStats;
    const reporter = new ProcessReporter({ socketPath: hub.socketPath, stats, logger });
    const total = () => sink.total('pool_requests', { service: 'openai' });
    await eventually(() => expect(total()).toBe(3));
    requests = 5;
    reporter.report();
    await eventually(() => expect(total()).toBe(5));
    requests = 4; // read lower once: nothing is taken back
    reporter.report();
    requests = 6;
    reporter.report();
    await eventually(() => expect(total()).toBe(6));
    reporter.finish();
    await eventually(() => expect(hub.processes().total).toBe(0));
    expect(sink.total('worker_job_processes_lost')).toBe(0);
  });
});
