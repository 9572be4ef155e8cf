/** 1. Connections: 200 OpenAI-style calls at concurrency 10, a fresh client per call vs the pool. */
import { ratio, summarize, timed, type Row, type Scenario } from '../harness.js';
import { ask, remotePool, runLimited, withFreshClient } from '../support/clients.js';
import { startRemoteOpenAI } from '../support/remote-openai.js';

const CALLS = 200;
const CONCURRENCY = 10;

export const connections: Scenario = {
  name: 'connections',
  async run({ rttMs, runs, progress }) {
    const remote = await startRemoteOpenAI(rttMs);
    try {
      const fresh: { ms: number; opened: number }[] = [];
      const pooled: { ms: number; opened: number; handshakes: number }[] = [];
      for (let run = 0; run <= runs; run++) {
        progress(`run ${run}/${runs}${run === 0 ? ' (warm-up)' : ''}`);
        let before = remote.proxy.accepted;
        const freshMs = await timed(() =>
          runLimited(CALLS, CONCURRENCY, () => withFreshClient(remote, (client) => ask(client))),
        );
        const freshOpened = remote.proxy.accepted - before;

        // The pool is built (and warmed) before the calls, as prewarm does; its warm-up
        // connection counts with the rest.
        before = remote.proxy.accepted;
        const pool = await remotePool(remote, { POOL_CONNECTIONS_PER_ORIGIN: String(CONCURRENCY) });
        const pooledMs = await timed(() => runLimited(CALLS, CONCURRENCY, () => ask(pool.openai)));
        const pooledOpened = remote.proxy.accepted - before;
        const handshakes = pool.stats().connections.tlsHandshakes;
        await pool.close();
        if (run === 0) continue;
        fresh.push({ ms: freshMs, opened: freshOpened });
        pooled.push({ ms: pooledMs, opened: pooledOpened, handshakes });
      }
      const freshMs = summarize(fresh.map((r) => r.ms));
      const pooledMs = summarize(pooled.map((r) => r.ms));
      const maxOpened = Math.max(...pooled.map((r) => r.opened));
      const wallRatio = ratio(pooledMs.median, freshMs.median)!;
      const rows: Row[] = [
        {
          scenario: 'connections',
          measure: `wall time, ${CALLS} calls at concurrency ${CONCURRENCY}, ${rttMs} ms RTT`,
          baseline: {
            label: 'fresh client per call',
            figures: { medianMs: freshMs.median, p95Ms: freshMs.p95 },
          },
          ours: { label: 'pool', figures: { medianMs: pooledMs.median, p95Ms: pooledMs.p95 } },
          ratio: wallRatio,
          target: 'ratio <= 0.4',
          pass: wallRatio <= 0.4,
        },
        {
          scenario: 'connections',
          measure: 'new connections (= TLS handshakes) per run',
          baseline: {
            label: 'fresh client per call',
            figures: {
              connections: Math.max(...fresh.map((r) => r.opened)),
              tlsHandshakes: Math.max(...fresh.map((r) => r.opened)),
            },
          },
          ours: {
            label: 'pool (prewarm included)',
            figures: {
              connections: maxOpened,
              tlsHandshakes: Math.max(...pooled.map((r) => r.handshakes)),
            },
          },
          ratio: ratio(maxOpened, Math.max(...fresh.map((r) => r.opened))),
          target: `connections <= ${CONCURRENCY}`,
          pass: maxOpened <= CONCURRENCY,
        },
      ];
      return rows;
    } finally {
      await remote.close();
    }
  },
};
