/** The report socket's private directory: short enough for a Unix socket address, or one clear error. */
import { rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  MAX_SOCKET_PATH_BYTES,
  ReportSocketError,
  privateSocketPath,
} from '../../../src/metrics/report-socket-path.js';

describe("the report socket's path", () => {
  it('goes under /tmp when TMPDIR is too long for a socket address, in a 0700 directory', () => {
    const longBase = join(tmpdir(), 'a-very-long-temporary-directory-name'.repeat(3));
    const { dir, socketPath } = privateSocketPath(longBase);
    try {
      expect(Buffer.byteLength(socketPath)).toBeLessThanOrEqual(MAX_SOCKET_PATH_BYTES);
      expect(dir.startsWith('/tmp/')).toBe(true);
      expect(statSync(dir).mode & 0o777).toBe(0o700);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the directory and the cause when it cannot be made', () => {
    const missing = join(tmpdir(), `no-such-dir-${process.pid}`);
    expect(() => privateSocketPath(missing)).toThrow(ReportSocketError);
    expect(() => privateSocketPath(missing)).toThrow(`in ${missing} (ENOENT)`);
  });
});
