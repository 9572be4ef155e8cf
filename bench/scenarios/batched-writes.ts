/**
 * 5. Batched writes: 100 memories saved one call each vs one `save_memories` batch, on the real
 * embedded Postgres, both locally and across the injected network delay (a TCP delay proxy in
 * front of Postgres).
 */
import { randomUUID } from 'node:crypto';
import { PostgresMemoryStore } from '../../src/memory/postgres-store.js';
import type { MemoryInput } from '../../src/memory/types.js';
import { startTestPostgres } from '../../test/support/postgres.js';
import { ratio, summarize, timed, type Row, type Scenario } from '../harness.js';
import { startDelayProxy } from '../support/delay-proxy.js';

const MEMORIES = 100;
const items = (): MemoryInput[] =>
  Array.from({ length: MEMORIES }, (_, i) => ({
    category: 'fact',
    key: `fact_${i}`,
    value: `Fact number ${i} about the caller`,
    confidence: 0.8,
    source: 'extraction',
  }));

export const batchedWrites: Scenario = {
  name: 'batched-writes',
  async run({ rttMs, runs, progress }) {
    const postgres = await startTestPostgres();
    const proxy = await startDelayProxy(postgres.port, rttMs);
    const remoteUrl = postgres.url.replace(`:${postgres.port}/`, `:${proxy.port}/`);
    const rows: Row[] = [];
    try {
      for (const [where, url] of [
        ['local', postgres.url],
        [`${rttMs} ms RTT`, remoteUrl],
      ] as const) {
        const store = await PostgresMemoryStore.connect(url, { maxConnections: 1 });
        const oneByOne: number[] = [];
        const batched: number[] = [];
        let calls = { oneByOne: 0, batched: 0 };
        for (let run = 0; run <= runs; run++) {
          progress(`${where}: run ${run}/${runs}${run === 0 ? ' (warm-up)' : ''}`);
          calls = { oneByOne: 0, batched: 0 };
          const a = await timed(async () => {
            for (const item of items()) {
              calls.oneByOne++;
              await store.save(`one-${randomUUID()}`, [item], randomUUID(), new Date());
            }
          });
          const b = await timed(async () => {
            calls.batched++;
            await store.save(`batch-${randomUUID()}`, items(), randomUUID(), new Date());
          });
          if (run === 0) continue;
          oneByOne.push(a);
          batched.push(b);
        }
        await store.close();
        const a = summarize(oneByOne);
        const b = summarize(batched);
        rows.push({
          scenario: 'batched-writes',
          measure: `${MEMORIES} memories, Postgres ${where}`,
          baseline: {
            label: 'one call each',
            figures: { roundTrips: calls.oneByOne, medianMs: a.median, p95Ms: a.p95 },
          },
          ours: {
            label: 'one save_memories batch',
            figures: { roundTrips: calls.batched, medianMs: b.median, p95Ms: b.p95 },
          },
          ratio: ratio(b.median, a.median),
          target: '1 round trip',
          pass: calls.batched === 1,
        });
      }
      return rows;
    } finally {
      await proxy.close();
      await postgres.stop();
    }
  },
};
