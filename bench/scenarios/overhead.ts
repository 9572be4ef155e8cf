/**
 * 10. Overhead: what `pool.stats()` costs, and what the pool's accounting (metrics, connection
 * marking, diagnostics channels) adds to a request, against the same client on a plain undici
 * Agent. Measured on a local server with no delay, where the difference is largest.
 */
import type OpenAI from 'openai';
import { Agent } from 'undici';
import { ConnectionPool } from '../../src/pool/connection-pool.js';
import { testConfig } from '../../test/support/config.js';
import { type Row, type Scenario, median, round, timed } from '../harness.js';
import { clientOn } from '../support/clients.js';
import { startOpenAIProcess } from '../support/openai-process.js';

const REQUESTS = 300;

export const overhead: Scenario = {
  name: 'overhead',
  async run({ rttMs, runs, progress }) {
    const server = await startOpenAIProcess();
    const pool = await ConnectionPool.create(testConfig({ OPENAI_BASE_URL: server.baseURL }));
    const dispatcher = new Agent({ keepAliveTimeout: 60_000, connections: 10 });
    const plain = clientOn(server.baseURL, dispatcher);
    const models = (client: OpenAI) => client.models.list();
    try {
      const pooledPer: number[] = [];
      const plainPer: number[] = [];
      for (let run = 0; run <= runs; run++) {
        progress(`requests ${run}/${runs}${run === 0 ? ' (warm-up)' : ''}`);
        // Alternate blocks so both see the same machine.
        const a = await timed(async () => {
          for (let i = 0; i < REQUESTS; i++) await models(plain);
        });
        const b = await timed(async () => {
          for (let i = 0; i < REQUESTS; i++) await models(pool.openai);
        });
        if (run === 0) continue;
        plainPer.push(a / REQUESTS);
        pooledPer.push(b / REQUESTS);
      }
      progress('stats()');
      const statsSamples: number[] = [];
      for (let i = 0; i < 2_000; i++) {
        const started = performance.now();
        pool.stats();
        statsSamples.push(performance.now() - started);
      }
      const plainMs = median(plainPer);
      const pooledMs = median(pooledPer);
      const accountingMs = Math.max(0, pooledMs - plainMs);
      // A real request pays at least one network round trip on top of the local cost.
      const share = accountingMs / (rttMs + plainMs);
      const statsMs = median(statsSamples);
      const rows: Row[] = [
        {
          scenario: 'overhead',
          measure: 'pool.stats() per call',
          baseline: { label: 'budget', figures: { ms: 1 } },
          ours: {
            label: 'stats()',
            figures: {
              medianMs: round(statsMs, 4),
              p95Ms: round(
                statsSamples.sort((x, y) => x - y)[Math.floor(statsSamples.length * 0.95)]!,
                4,
              ),
            },
          },
          ratio: round(statsMs / 1, 4),
          target: '< 1 ms',
          pass: statsMs < 1,
        },
        {
          scenario: 'overhead',
          measure: `accounting per request (share of a request at ${rttMs} ms RTT)`,
          baseline: { label: 'plain undici Agent', figures: { msPerRequest: round(plainMs, 3) } },
          ours: {
            label: 'pool',
            figures: {
              msPerRequest: round(pooledMs, 3),
              addedMs: round(accountingMs, 3),
              sharePercent: round(share * 100, 2),
            },
          },
          ratio: round(pooledMs / plainMs, 3),
          target: '< 1% of a request',
          pass: share < 0.01,
        },
      ];
      return rows;
    } finally {
      await pool.close();
      await dispatcher.close();
      await server.close();
    }
  },
};
