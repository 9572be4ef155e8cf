/**
 * The framework logs every failure with its stack, expected ones included: a LiveKit server that
 * drops the worker and is retried, or an idle process that a Ctrl-C at the terminal killed while
 * it was still starting (the terminal signals the whole process group; a job process ignores
 * SIGINT only once it has loaded). In `start` mode (JSON lines on stdout) the main process's
 * records are filtered here: an expected failure keeps its line and message without the stack,
 * and a process ended by the stop itself is not a warning. Every other line passes unchanged.
 */

/** Network failures a worker meets and retries: the message says all there is to say. */
const EXPECTED =
  /ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|Unexpected server response|WebSocket returned|connection closed unexpectedly/;
/**
 * What the framework reports for an idle process the stop signal killed before it was ready: its
 * exit, or the shutdown request it can no longer be sent.
 */
const ENDED_BY_STOP =
  /exited before initializing \(code null, signal SIG(INT|TERM)\)|EPIPE|ERR_IPC_CHANNEL_CLOSED|channel closed/;
const WARN = 40;
const INFO = 30;

interface LogRecord {
  level?: number;
  msg?: string;
  error?: { message?: string; code?: string; stack?: string };
}

/**
 * Wraps `out.write` once. Lines that are not JSON records at warn level or above pass unchanged.
 *
 * @param isStopping whether a stop signal has arrived (processes dying then are expected)
 * @param out the stream the framework's logger writes to (stdout)
 */
export function quietExpectedFailures(
  isStopping: () => boolean,
  out: NodeJS.WriteStream = process.stdout,
): void {
  const write = out.write.bind(out) as (chunk: unknown, ...rest: unknown[]) => boolean;
  out.write = ((chunk: unknown, ...rest: unknown[]) =>
    write(quieted(chunk, isStopping()) ?? chunk, ...rest)) as typeof out.write;
}

/**
 * @param chunk one write of the logger (one record per write)
 * @param stopping whether a stop signal has arrived
 * @returns the rewritten line, or undefined to write the chunk as it is
 */
export function quieted(chunk: unknown, stopping: boolean): string | undefined {
  const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString() : '';
  if (!text.startsWith('{') || !text.includes('"stack"')) return undefined;
  let record: LogRecord;
  try {
    record = JSON.parse(text) as LogRecord;
  } catch {
    return undefined;
  }
  const error = record.error;
  if (!error?.stack || (record.level ?? 0) < WARN) return undefined;
  const described = `${error.code ?? ''} ${error.message ?? ''}`;
  if (stopping && ENDED_BY_STOP.test(described)) {
    record.level = INFO;
    record.msg = 'an idle process still starting was ended by the stop signal';
  } else if (!EXPECTED.test(described)) {
    return undefined;
  }
  delete error.stack;
  return `${JSON.stringify(record)}\n`;
}
