/**
 * The main process's side of the job processes' reports: a Unix socket in a private directory
 * (0700), its path put in the environment the framework forks job processes with. Counter
 * increases and observations go into the instruments at once, so totals survive the process that
 * counted them (killed or not); gauges are kept per live connection and drop out when it closes.
 */
import { rmSync } from 'node:fs';
import { type Server, type Socket, createServer } from 'node:net';
import type { Logger } from '../lib/logger.js';
import { processMetric } from './catalog.js';
import {
  type Labels,
  MAX_REPORT_BYTES,
  MalformedReport,
  type ProcessReport,
  type ProcessState,
  type Sample,
  parseReport,
} from './process-report.js';
import { METRICS_SOCKET_ENV } from './process-reporter.js';
import { ReportSocketError, privateSocketPath } from './report-socket-path.js';
import { seriesKey } from './stats-figures.js';

/** Where the hub puts what it is told. */
export interface ReportSink {
  /** A counter increase (a process's or the hub's own). */
  add(name: string, labels: Labels, value: number): void;
  /** One histogram observation. */
  record(name: string, labels: Labels, value: number): void;
}

interface LiveProcess {
  pid?: number;
  state: ProcessState;
  poolBuilt: boolean;
  gauges: Sample[];
  /** A malformed line from this process was logged already (later ones are only counted). */
  loggedDrop?: boolean;
}

export class ReportHub {
  readonly #live = new Map<Socket, LiveProcess>();
  readonly #server: Server;
  readonly #dir: string;

  /** The socket's path, also in `process.env[METRICS_SOCKET_ENV]` once listening. */
  readonly socketPath: string;

  /**
   * @param sink the instruments
   * @param logger where each process's first malformed report is logged (later ones are counted)
   * @throws {@link ReportSocketError} when the socket's private directory cannot be made
   */
  constructor(
    private readonly sink: ReportSink,
    private readonly logger: Logger,
  ) {
    ({ dir: this.#dir, socketPath: this.socketPath } = privateSocketPath());
    this.#server = createServer((socket) => this.#accept(socket));
    this.#server.unref();
  }

  /**
   * Listens, then sets the variable job processes read; call before the framework forks.
   * @returns once listening
   * @throws {@link ReportSocketError} when the socket cannot listen
   */
  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          new ReportSocketError(
            `the job processes' report socket cannot listen at ${this.socketPath} (${error.code ?? error.message})`,
          ),
        ),
      );
      this.#server.listen(this.socketPath, () => resolve());
    });
    process.env[METRICS_SOCKET_ENV] = this.socketPath;
  }

  /** The live processes' gauges, one per series: summed, or the highest (the spec's `aggregate`). */
  gauges(): Sample[] {
    const combined = new Map<string, Sample>();
    for (const live of this.#live.values()) {
      for (const gauge of live.gauges) {
        const key = seriesKey(gauge);
        const seen = combined.get(key);
        if (!seen) combined.set(key, { ...gauge });
        else if (processMetric(gauge.name)?.aggregate === 'max')
          seen.value = Math.max(seen.value, gauge.value);
        else seen.value += gauge.value;
      }
    }
    return [...combined.values()];
  }

  /** @returns how many live processes are in each state, and how many have a built pool */
  processes(): { idle: number; job: number; total: number; poolBuilt: number } {
    const counts = { idle: 0, job: 0, total: 0, poolBuilt: 0 };
    for (const live of this.#live.values()) {
      if (live.pid === undefined) continue;
      counts.total++;
      if (live.poolBuilt) counts.poolBuilt++;
      if (live.state === 'idle' && live.poolBuilt) counts.idle++;
      if (live.state === 'job') counts.job++;
    }
    return counts;
  }

  /** Stops listening and removes the private directory. */
  close(): void {
    this.#server.close();
    for (const socket of this.#live.keys()) socket.destroy();
    rmSync(this.#dir, { recursive: true, force: true });
  }

  #accept(socket: Socket): void {
    const live: LiveProcess = { state: 'idle', poolBuilt: false, gauges: [] };
    this.#live.set(socket, live);
    // Bytes, split at '\n' (never inside a UTF-8 sequence): a line is decoded whole.
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      let newline: number;
      while ((newline = buffer.indexOf(0x0a)) >= 0) {
        this.#apply(live, buffer.subarray(0, newline).toString('utf8'));
        buffer = buffer.subarray(newline + 1);
      }
      if (buffer.length > MAX_REPORT_BYTES) {
        this.#drop(live, new MalformedReport('line too long'));
        buffer = Buffer.alloc(0);
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.#live.delete(socket);
      // Killed (or crashed) before its last line: what it reported so far stays in the totals.
      if (live.pid !== undefined && live.state !== 'ended')
        this.sink.add('worker_job_processes_lost', {}, 1);
    });
  }

  #apply(live: LiveProcess, line: string): void {
    let report: ProcessReport;
    try {
      report = parseReport(line);
    } catch (error) {
      if (!(error instanceof MalformedReport)) throw error;
      return this.#drop(live, error);
    }
    if (report.state === 'job' && live.state !== 'job') this.sink.add('worker_jobs', {}, 1);
    live.pid = report.pid;
    live.state = report.state;
    live.poolBuilt = report.poolBuilt;
    live.gauges = report.state === 'ended' ? [] : report.gauges;
    for (const c of report.counters) this.sink.add(c.name, c.labels, c.value);
    for (const o of report.observations) this.sink.record(o.name, o.labels, o.value);
  }

  #drop(live: LiveProcess, error: MalformedReport): void {
    this.sink.add('worker_reports_dropped', {}, 1);
    if (live.loggedDrop) return;
    live.loggedDrop = true;
    this.logger.warn(
      { pid: live.pid, reason: error.message },
      'a job process sent a malformed metrics report: dropped (later ones are only counted)',
    );
  }
}
