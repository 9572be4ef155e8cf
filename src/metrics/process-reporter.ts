/**
 * The job process's side of `/metrics`: every second (an unref'd timer, never on a call's path)
 * it reads one `pool.stats()` snapshot and writes one line to the main process's socket:
 * counter increases since the last line, gauges as they are, latency observations. Writes are
 * never awaited; a socket that is gone or backed up costs the call nothing (the increases wait
 * for the next line that can be written).
 */
import { writeSync } from 'node:fs';
import { type Socket, createConnection } from 'node:net';
import type { Logger } from '../lib/logger.js';
import type { PoolStats } from '../pool/pool-stats.js';
import type { ProcessReport, ProcessState, Sample } from './process-report.js';
import type { RequestLatency } from './request-latency.js';
import { figuresOf, seriesKey } from './stats-figures.js';

/** The variable the main process sets before the framework forks: its socket's path. */
export const METRICS_SOCKET_ENV = 'MEMORY_AGENT_METRICS_SOCKET';

/** How often a job process reports. */
export const REPORT_INTERVAL_MS = 1_000;

/** Past this many bytes waiting in the socket, a line is skipped (the main process is stuck). */
const MAX_BUFFERED_BYTES = 1024 * 1024;

export interface ProcessReporterOptions {
  /** The main process's socket; see {@link METRICS_SOCKET_ENV}. */
  socketPath: string;
  /** The snapshot to report, or undefined while no pool is built. */
  stats: () => PoolStats | undefined;
  latency?: RequestLatency;
  logger: Logger;
  /** @default REPORT_INTERVAL_MS (1 s); the timer never keeps the process alive */
  intervalMs?: number;
}

/**
 * One job process's reporter: a line at start, every second, at each state change, and a last
 * one (`ended`) at job end or, for a process that never took a job (the framework closes idle
 * ones on drain), when the process exits; so only a killed or crashed process counts as lost.
 */
export class ProcessReporter {
  #state: ProcessState = 'idle';
  readonly #sent = new Map<string, number>();
  readonly #socket: Socket;
  readonly #timer: NodeJS.Timeout;
  #broken = false;
  #finished = false;
  readonly #onExit = () => this.#finishOnExit();

  /** @param options where to report, and what */
  constructor(private readonly options: ProcessReporterOptions) {
    this.#socket = createConnection(options.socketPath);
    this.#socket.unref();
    this.#socket.on('error', (error) => {
      // Once: the process goes on without reporting; the main process counts it as lost.
      if (!this.#broken) options.logger.debug({ error: error.message }, 'metrics socket failed');
      this.#broken = true;
      options.latency?.close(); // nobody will take its observations any more
    });
    this.#timer = setInterval(() => this.report(), options.intervalMs ?? REPORT_INTERVAL_MS);
    this.#timer.unref();
    process.once('exit', this.#onExit);
    this.report();
  }

  /** @param state where the process is now; reported at once */
  setState(state: ProcessState): void {
    this.#state = state;
    this.report();
  }

  /** The last line (state `ended`), then the socket closes. Later calls do nothing. */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    process.off('exit', this.#onExit);
    clearInterval(this.#timer);
    this.#state = 'ended';
    this.report();
    this.#socket.end();
    this.options.latency?.close();
  }

  /**
   * The process is exiting without `finish()` (an idle process closed by the framework): the
   * event loop does no more turns, so the last line is written to the socket's descriptor at
   * once; when that cannot be done (bytes still queued, no descriptor, a full buffer) the
   * stream's write still reaches the kernel at once when the socket has room.
   */
  #finishOnExit(): void {
    if (this.#finished || this.#broken) return;
    this.#finished = true;
    clearInterval(this.#timer);
    this.#state = 'ended';
    let line: string;
    try {
      line = `${JSON.stringify(this.#build())}\n`;
    } catch {
      return;
    }
    const fd = (this.#socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (this.#socket.writableLength === 0 && typeof fd === 'number' && fd >= 0) {
      try {
        const bytes = Buffer.from(line);
        const written = writeSync(fd, bytes);
        if (written < bytes.length) this.#socket.write(bytes.subarray(written));
        return;
      } catch {
        // EAGAIN (the buffer is full): the stream's write below
      }
    }
    this.#socket.write(line);
  }

  /** Builds and writes one line now. Never throws: a failed report waits for the next one. */
  report(): void {
    if (this.#broken || this.#socket.writableLength > MAX_BUFFERED_BYTES) return;
    try {
      const line = JSON.stringify(this.#build());
      this.#socket.write(`${line}\n`);
    } catch (error) {
      this.options.logger.debug({ error: String(error) }, 'metrics report skipped');
    }
  }

  #build(): ProcessReport {
    const stats = this.options.stats();
    const counters: Sample[] = [];
    const gauges: Sample[] = [];
    if (stats) {
      const figures = figuresOf(stats);
      for (const figure of figures.totals) {
        const key = seriesKey(figure);
        const increase = figure.value - (this.#sent.get(key) ?? 0);
        // A total never goes down; if one ever did, it is not sent back as a decrease.
        if (increase > 0) {
          counters.push({ ...figure, value: increase });
          this.#sent.set(key, figure.value);
        }
      }
      gauges.push(...figures.gauges);
    }
    return {
      pid: process.pid,
      state: this.#state,
      poolBuilt: stats !== undefined,
      counters,
      gauges,
      observations: this.options.latency?.take() ?? [],
    };
  }
}
