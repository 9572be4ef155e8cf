/**
 * 8. Pool build and job start.
 *
 * Build: two components of equal delay — OpenAI and a Supabase gateway stand-in, both HTTPS
 * behind the delay proxy, each answering its warm-up request after the same server delay —
 * readied side by side by `ConnectionPool.create`, vs the same pool built cold with the same two
 * warm-up requests awaited one after the other. Every build opens new connections (TCP + TLS).
 *
 * Job start: from entry to the first request the call sends (the greeting's speech request)
 * arriving at the OpenAI front, in a process whose pool, Postgres store and services were
 * prewarmed vs a cold one that builds them on entry (as `runJob` does when prewarm failed or
 * never ran: the pool with its warm-up, then the call). The store is the embedded Postgres on
 * 127.0.0.1; module import time is not included.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCall } from '../../src/caller-call.js';
import { ConnectionPool } from '../../src/pool/connection-pool.js';
import { TEST_SECRETS, testConfig } from '../../test/support/config.js';
import { startTestPostgres } from '../../test/support/postgres.js';
import { createSelfSignedCertificate } from '../../test/support/self-signed-cert.js';
import { ratio, summarize, timed, type Scenario } from '../harness.js';
import { startDelayProxy } from '../support/delay-proxy.js';
import { startJobProcess, type BenchProcess } from '../support/job-process.js';
import { startRemoteOpenAI } from '../support/remote-openai.js';

const COMPONENT_DELAY_MS = 100;

/** Supabase's gateway as far as the pool's warm-up sees it: GET /rest/v1/ → 200 after a delay. */
async function startGatewayStandIn(delayMs: number, rttMs: number) {
  const tls = await createSelfSignedCertificate();
  const server = createServer(tls, (req, res) => {
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    }, delayMs);
  });
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy = await startDelayProxy((server.address() as AddressInfo).port, rttMs);
  return {
    url: `https://127.0.0.1:${proxy.port}`,
    ca: tls.cert,
    close: async () => {
      await proxy.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export const poolBuild: Scenario = {
  name: 'pool-build',
  async run({ rttMs, runs, progress }) {
    const [remote, gateway, pg, dataDir] = await Promise.all([
      startRemoteOpenAI(rttMs, { latencyMs: COMPONENT_DELAY_MS }),
      startGatewayStandIn(COMPONENT_DELAY_MS, rttMs),
      startTestPostgres(),
      mkdtemp(join(tmpdir(), 'bench-pool-build-')),
    ]);
    const config = testConfig({
      OPENAI_BASE_URL: remote.baseURL,
      SUPABASE_URL: gateway.url,
      SUPABASE_SERVICE_ROLE_KEY: TEST_SECRETS.supabase,
    });
    const tls = { ca: [remote.ca, gateway.ca] };
    const opened: BenchProcess[] = [];
    try {
      const serial: number[] = [];
      const parallel: number[] = [];
      for (let run = 0; run <= runs; run++) {
        progress(`build run ${run}/${runs}${run === 0 ? ' (warm-up)' : ''}`);
        let pool: ConnectionPool | undefined;
        const s = await timed(async () => {
          pool = await ConnectionPool.create(config, { tls, warmUp: false });
          await pool.openai.models.list();
          const response = await pool.fetchFor('supabase')(`${gateway.url}/rest/v1/`, {
            headers: { apikey: TEST_SECRETS.supabase },
          });
          await response.arrayBuffer();
        });
        await pool?.close();
        const p = await timed(async () => {
          pool = await ConnectionPool.create(config, { tls });
        });
        const healthy = Object.values(pool!.stats().services).every(
          (service) => service.health.status === 'healthy',
        );
        await pool?.close();
        if (!healthy) throw new Error('a component did not warm up');
        if (run === 0) continue;
        serial.push(s);
        parallel.push(p);
      }

      // Job start. The first request of a call is its greeting's speech.
      const firstRequest = async (p: BenchProcess, entryAt: number): Promise<number> => {
        const call = await openCall({
          pool: p.pool,
          config: p.config,
          services: p.services,
          userId: `bench-start-${randomUUID()}`,
        });
        const speech = await p.pool.openai.audio.speech.create({
          model: p.config.openai.ttsModel,
          voice: p.config.openai.ttsVoice,
          input: call.greeting.text,
          response_format: 'pcm',
        });
        await speech.arrayBuffer();
        const arrived = remote.server.requests.findLast((r) => r.path === '/v1/audio/speech');
        return arrived!.at - entryAt;
      };
      const start = () => startJobProcess({ remote, postgresUrl: pg.url, dataDir });
      const prewarmed: number[] = [];
      const cold: number[] = [];
      remote.server.setLatency(0); // the build figures are done; a speech request is quick
      for (let run = 0; run <= runs; run++) {
        progress(`job start run ${run}/${runs}${run === 0 ? ' (warm-up)' : ''}`);
        const warm = await start(); // prewarm, before the job arrives
        opened.push(warm);
        const w = await firstRequest(warm, Date.now());
        await warm.close();
        const entryAt = Date.now();
        const built = await start(); // on entry
        opened.push(built);
        const c = await firstRequest(built, entryAt);
        await built.close();
        if (run === 0) continue;
        prewarmed.push(w);
        cold.push(c);
      }

      const sb = summarize(serial);
      const pb = summarize(parallel);
      const buildRatio = ratio(pb.median, sb.median)!;
      const cb = summarize(cold);
      const wb = summarize(prewarmed);
      const startRatio = ratio(wb.median, cb.median)!;
      return [
        {
          scenario: 'pool-build',
          measure: `pool build, 2 components of ${COMPONENT_DELAY_MS} ms + ${rttMs} ms RTT`,
          baseline: {
            label: 'warm-ups one after the other',
            figures: { medianMs: sb.median, p95Ms: sb.p95 },
          },
          ours: {
            label: 'ConnectionPool.create (side by side)',
            figures: { medianMs: pb.median, p95Ms: pb.p95 },
          },
          ratio: buildRatio,
          target: 'ratio <= 0.55',
          pass: buildRatio <= 0.55,
        },
        {
          scenario: 'pool-build',
          measure: 'job start: entry to first request at the server',
          baseline: {
            label: 'cold process (builds on entry)',
            figures: { medianMs: cb.median, p95Ms: cb.p95 },
          },
          ours: { label: 'prewarmed process', figures: { medianMs: wb.median, p95Ms: wb.p95 } },
          ratio: startRatio,
          target: 'prewarmed < cold',
          pass: startRatio < 1,
        },
      ];
    } finally {
      await Promise.all(opened.map((p) => p.close().catch(() => undefined)));
      await Promise.all([remote.close(), gateway.close(), pg.stop()]);
      await rm(dataDir, { recursive: true, force: true });
    }
  },
};
