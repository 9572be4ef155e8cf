/**
 * The built worker as an operator meets it at the terminal: a health port already taken, and a
 * Ctrl-C (SIGINT to the whole process group, as a terminal sends it). Run `npm run build` first.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { type Server, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_SECRETS } from '../support/config.js';
import { type LiveKitServer, startLiveKitServer } from '../support/livekit-server.js';
import { type OpenAIServer, startOpenAIServer } from '../support/openai-server.js';
import { builtEntry, freePort, startWorker } from '../support/worker-process.js';

const NO_STACK = /\n\s+at [^\n]+:\d+:\d+/;

describe('the worker at the terminal', () => {
  let livekit: LiveKitServer;
  let openai: OpenAIServer;
  const dirs: string[] = [];
  beforeAll(async () => {
    builtEntry();
    [livekit, openai] = await Promise.all([
      startLiveKitServer({
        apiKey: TEST_SECRETS.livekitKey,
        apiSecret: TEST_SECRETS.livekitSecret,
      }),
      startOpenAIServer(),
    ]);
  });
  afterAll(async () => {
    await Promise.all([livekit?.close(), openai?.close()]);
    await Promise.all(
      dirs.map((dir) => rm(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 })),
    );
  });

  async function env(healthPort: number): Promise<Record<string, string>> {
    const dataDir = await mkdtemp(join(tmpdir(), 'e2e-terminal-data-'));
    dirs.push(dataDir);
    return {
      LIVEKIT_URL: livekit.url,
      LIVEKIT_API_KEY: TEST_SECRETS.livekitKey,
      LIVEKIT_API_SECRET: TEST_SECRETS.livekitSecret,
      HEALTH_PORT: String(healthPort),
      OPENAI_BASE_URL: openai.baseURL,
      OPENAI_API_KEY: TEST_SECRETS.openai,
      MEMORY_DATA_DIR: dataDir,
    };
  }

  it('a health port in use: one line naming the port and HEALTH_PORT, exit 1, nothing started', async () => {
    const port = await freePort();
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(port, '0.0.0.0', resolve));
    try {
      const settings = await env(port);
      const worker = startWorker({ env: settings });
      const exit = await worker.waitForExit(20_000);
      expect(exit).toMatchObject({ code: 1, forced: false, leftovers: [] });
      expect(worker.output('stderr')).toBe(
        `the health port ${port} is already in use (0.0.0.0:${port}): set HEALTH_PORT to a free port, or stop what holds it`,
      );
      expect(worker.output()).not.toMatch(NO_STACK);
      // Checked before the store: no Postgres was started for a worker that cannot run.
      expect(await readdir(settings.MEMORY_DATA_DIR!).catch(() => [])).toEqual([]);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  }, 30_000);

  it('Ctrl-C with no job: exits 130 and says nothing alarming, even while idle processes start', async () => {
    const worker = startWorker({ env: { ...(await env(await freePort())), LOG_LEVEL: 'debug' } });
    // Registration comes before the idle processes have finished prewarming: a Ctrl-C here finds
    // processes still starting (the replacement the framework forks after a SIGINT among them).
    await worker.waitForLine((l) => l.msg === 'registered worker', 20_000);
    const from = worker.lines.length;
    const exit = await worker.stopGroup('SIGINT', 15_000);
    console.info(`[e2e] Ctrl-C with no job → exit after ${exit.afterMs} ms`);
    expect(exit).toMatchObject({ code: 130, forced: false, leftovers: [] });
    const after = worker.lines.slice(from);
    expect(after.filter((l) => Number(l.json?.level) >= 40).map((l) => l.text)).toEqual([]);
    expect(after.map((l) => l.text).join('\n')).not.toMatch(NO_STACK);
    expect(after.map((l) => l.text).join('\n')).not.toMatch(/stalled/);
  }, 40_000);
});
