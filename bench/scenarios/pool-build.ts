/**
 * 8. Pool build and job start.
 *
 * Build: two components of equal delay — OpenAI and a Supabase gateway stand-in, both HTTPS
 * behind the delay proxy, each answering its warm-up request after the same server delay —
 * readied side by side by `ConnectionPool.create`, vs the same pool built cold with the same two
 * warm-up requests awaited one after the other. Every build opens new connections (TCP + TLS).
 *
 * Job start (./job-start.ts): entry to the greeting's speech request at the OpenAI front, and
 * the connections opened on the way, in a prewarmed process vs a cold one doing a naive
 * agent's entry; Postgres behind a delay proxy of the same round-trip time.
 *
 * The build check fails when `ConnectionPool.create` readies its components one after the
 * other (awaiting each warm-up in turn): the ratio is then about 1.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConnectionPool } from '../../src/pool/connection-pool.js';
import { TEST_SECRETS, testConfig } from '../../test/support/config.js';
import { startTestPostgres } from '../../test/support/postgres.js';
import { createSelfSignedCertificate } from '../../test/support/self-signed-cert.js';
import { type Scenario, ratio, summarize, timed } from '../harness.js';
import { startDelayProxy } from '../support/delay-proxy.js';
import { startRemoteOpenAI } from '../support/remote-openai.js';
import { measureJobStart } from './job-start.js';

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
      startRemoteOpenAI(rttMs, { latencyMs: COMPONENT_DELAY_MS, noKeepAliveHint: true }),
      startGatewayStandIn(COMPONENT_DELAY_MS, rttMs),
      startTestPostgres(),
      mkdtemp(join(tmpdir(), 'bench-pool-build-')),
    ]);
    const pgProxy = await startDelayProxy(pg.port, rttMs);
    const config = testConfig({
      OPENAI_BASE_URL: remote.baseURL,
      SUPABASE_URL: gateway.url,
      SUPABASE_SERVICE_ROLE_KEY: TEST_SECRETS.supabase,
    });
    const tls = { ca: [remote.ca, gateway.ca] };
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

      remote.server.setLatency(0); // the build figures are done; a speech request is quick
      const jobStart = await measureJobStart({
        remote,
        postgresUrl: pg.url.replace(`:${pg.port}/`, `:${pgProxy.port}/`),
        postgresProxy: pgProxy,
        dataDir,
        runs,
        progress,
      });

      const sb = summarize(serial);
      const pb = summarize(parallel);
      const buildRatio = ratio(pb.median, sb.median)!;
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
        ...jobStart,
      ];
    } finally {
      await Promise.all([remote.close(), gateway.close(), pgProxy.close()]);
      await pg.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  },
};
