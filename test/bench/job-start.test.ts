/**
 * The job-start check can fail: connections are counted where they arrive (the OpenAI server,
 * the proxy in front of Postgres), so a process that builds its pool on entry opens them on the
 * way to the first request and the row says FAIL. Times are reported, not asserted here.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureJobStart } from '../../bench/scenarios/job-start.js';
import { type DelayProxy, startDelayProxy } from '../../bench/support/delay-proxy.js';
import { type RemoteOpenAI, startRemoteOpenAI } from '../../bench/support/remote-openai.js';
import { type TestPostgres, startTestPostgres } from '../support/postgres.js';

describe('bench check: job start', () => {
  let pg: TestPostgres;
  let pgProxy: DelayProxy;
  let remote: RemoteOpenAI;
  let dataDir: string;
  beforeAll(async () => {
    [pg, remote, dataDir] = await Promise.all([
      startTestPostgres(),
      startRemoteOpenAI(0, { noKeepAliveHint: true }),
      mkdtemp(join(tmpdir(), 'bench-job-start-test-')),
    ]);
    pgProxy = await startDelayProxy(pg.port, 0);
  });
  afterAll(async () => {
    await Promise.all([remote?.close(), pgProxy?.close()]);
    await pg?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });
  const measure = (prewarm: boolean) =>
    measureJobStart({
      remote,
      postgresUrl: pg.url.replace(`:${pg.port}/`, `:${pgProxy.port}/`),
      postgresProxy: pgProxy,
      dataDir,
      runs: 1,
      prewarm,
    });

  it('passes when prewarmed: no connection opened between entry and the first request', async () => {
    const [connections, time] = await measure(true);
    expect(connections!.ours.figures.connections).toBe(0);
    expect(connections!.baseline.figures.connections).toBeGreaterThanOrEqual(2);
    expect(connections!.pass).toBe(true);
    expect(time!.measure).toMatch(/entry to first request/);
  });

  it('fails when the process builds its pool on entry', async () => {
    const [connections] = await measure(false);
    expect(connections!.ours.figures.connections).toBeGreaterThan(0);
    expect(connections!.pass).toBe(false);
  });
});
