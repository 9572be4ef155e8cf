/**
 * A metrics port already in use stops the worker before anything starts: one line naming the
 * port and the variable, exit 1, no stack, nothing left behind (as a busy health port does).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type AddressInfo, type Server, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_SECRETS } from '../support/config.js';
import { freePort } from '../support/worker-process.js';

const AGENT = fileURLToPath(new URL('../../src/agent.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

let holder: Server;
const cwd = mkdtempSync(join(tmpdir(), 'metrics-port-'));
afterAll(() => {
  holder?.close();
  rmSync(cwd, { recursive: true, force: true });
});

describe('the metrics port', () => {
  it('in use: the worker exits 1 with one line naming METRICS_PORT, before anything starts', async () => {
    holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', () => resolve()));
    const busy = (holder.address() as AddressInfo).port;
    const child = spawn(process.execPath, ['--import', TSX, AGENT, 'start'], {
      cwd,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        LIVEKIT_URL: 'ws://127.0.0.1:1',
        LIVEKIT_API_KEY: TEST_SECRETS.livekitKey,
        LIVEKIT_API_SECRET: TEST_SECRETS.livekitSecret,
        OPENAI_API_KEY: TEST_SECRETS.openai,
        HEALTH_PORT: String(await freePort()),
        METRICS_PORT: String(busy),
      },
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const status = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(status).toBe(1);
    expect(stderr.trim()).toBe(
      `the metrics port ${busy} is already in use (127.0.0.1:${busy}): set METRICS_PORT to a free port, or stop what holds it`,
    );
    expect(readdirSync(cwd)).toEqual([]); // no ./data: no store was started
  }, 20_000);
});
