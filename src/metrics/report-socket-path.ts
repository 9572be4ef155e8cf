/**
 * Where the main process's report socket lives: a private directory (mkdtemp makes it 0700, so
 * only this user reaches the socket) under TMPDIR, or under /tmp when TMPDIR is so long that the
 * socket's path would pass what a Unix socket address holds (Linux truncates it silently, and the
 * job processes would then look for a socket that is not there).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Longest socket path that fits `sun_path` on Linux and macOS (104 bytes with its NUL). */
export const MAX_SOCKET_PATH_BYTES = 103;
const PREFIX = 'memory-agent-metrics-';
const SOCKET = 'reports.sock';
/** What mkdtemp appends to the prefix. */
const RANDOM_SUFFIX = 6;

/** The report socket cannot be made: one line for the operator, no stack. */
export class ReportSocketError extends Error {
  override readonly name = 'ReportSocketError';
}

/**
 * @param base where to look first (TMPDIR)
 * @returns the new private directory and the socket's path in it
 * @throws {@link ReportSocketError} when no directory can be made there or under /tmp
 */
export function privateSocketPath(base: string = tmpdir()): { dir: string; socketPath: string } {
  const fits = (dir: string) =>
    Buffer.byteLength(join(dir, PREFIX + 'x'.repeat(RANDOM_SUFFIX), SOCKET)) <=
    MAX_SOCKET_PATH_BYTES;
  const parent = fits(base) ? base : '/tmp';
  try {
    const dir = mkdtempSync(join(parent, PREFIX));
    return { dir, socketPath: join(dir, SOCKET) };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new ReportSocketError(
      `the job processes' report socket cannot be made in ${parent} (${code}): make TMPDIR a writable directory with a short path, or unset METRICS_PORT and OTEL_EXPORTER_OTLP_ENDPOINT`,
    );
  }
}
