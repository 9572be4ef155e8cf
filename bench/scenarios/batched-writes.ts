/**
 * 5. Batched writes: 100 memories written the naive way — one plain `INSERT` per memory, as an
 * agent that stores each fact as it hears it does — vs one `save_memories` batch, on the real
 * embedded Postgres, locally and across the injected network delay (a TCP delay proxy in front
 * of Postgres). Round trips are counted on the wire, in front of the server (Sync and Query
 * messages it receives: bench/support/postgres-exchange-counter.ts), not by the benchmark.
 */
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import type { MemoryInput } from '../../src/store/memory-store.js';
import { PostgresMemoryStore } from '../../src/store/postgres-store.js';
import { startTestPostgres } from '../../test/support/postgres.js';
import { type Row, type Scenario, ratio, summarize, timed } from '../harness.js';
import { startDelayProxy } from '../support/delay-proxy.js';
import { startPostgresExchangeCounter } from '../support/postgres-exchange-counter.js';

export const MEMORIES = 100;
const items = (): MemoryInput[] =>
  Array.from({ length: MEMORIES }, (_, i) => ({
    category: 'fact',
    key: `fact_${i}`,
    value: `Fact number ${i} about the caller`,
    confidence: 0.8,
    source: 'extraction',
  }));

/** How "ours" writes one caller's memories: the product's way is one `store.save` batch. */
export type WriteMemories = (
  store: PostgresMemoryStore,
  userId: string,
  memories: readonly MemoryInput[],
) => Promise<unknown>;

export const oneBatch: WriteMemories = (store, userId, memories) =>
  store.save(userId, memories, randomUUID(), new Date());

/**
 * Measures `runs` writes of 100 memories each way (after one unmeasured warm-up, which also
 * prepares the statements), through a counter in front of `targetPort`.
 *
 * The check fails when the product stops batching: `writeOurs` saving one item per call (a
 * writer that calls `store.save` in a loop, or a store whose `save` sends a statement per item)
 * shows 100 exchanges instead of 1. It also fails if the counter misses the baseline's 100
 * inserts, so a counter that counts nothing cannot pass it.
 * @param options the Postgres URL and port to write to (directly or through a delay proxy),
 *   a label for where it is, the run count, and how ours writes
 * @returns the report row
 */
export async function measureBatchedWrites(options: {
  url: string;
  targetPort: number;
  where: string;
  runs: number;
  writeOurs?: WriteMemories;
  progress?: (message: string) => void;
}): Promise<Row> {
  const writeOurs = options.writeOurs ?? oneBatch;
  const counter = await startPostgresExchangeCounter(options.targetPort);
  const url = options.url.replace(`:${options.targetPort}/`, `:${counter.port}/`);
  // One connection each, so every statement waits for the one before it, as in a job process.
  const naive = postgres(url, { max: 1, onnotice: () => undefined });
  const store = await PostgresMemoryStore.connect(url, { maxConnections: 1 });
  const exchangesOf = async (work: () => Promise<unknown>) => {
    counter.reset();
    const ms = await timed(work);
    return { ms, exchanges: counter.exchanges };
  };
  try {
    const baseline = { ms: [] as number[], exchanges: [] as number[] };
    const ours = { ms: [] as number[], exchanges: [] as number[] };
    for (let run = 0; run <= options.runs; run++) {
      options.progress?.(
        `${options.where}: run ${run}/${options.runs}${run === 0 ? ' (warm-up)' : ''}`,
      );
      const a = await exchangesOf(() => insertEach(naive, `naive-${randomUUID()}`, items()));
      const b = await exchangesOf(() => writeOurs(store, `batch-${randomUUID()}`, items()));
      if (run === 0) continue;
      baseline.ms.push(a.ms);
      baseline.exchanges.push(a.exchanges);
      ours.ms.push(b.ms);
      ours.exchanges.push(b.exchanges);
    }
    const a = summarize(baseline.ms);
    const b = summarize(ours.ms);
    const baselineTrips = Math.max(...baseline.exchanges);
    const ourTrips = Math.max(...ours.exchanges);
    return {
      scenario: 'batched-writes',
      measure: `${MEMORIES} memories, Postgres ${options.where} (round trips seen on the wire)`,
      baseline: {
        label: 'one plain INSERT per memory',
        figures: { roundTrips: baselineTrips, medianMs: a.median, p95Ms: a.p95 },
      },
      ours: {
        label: 'one save_memories batch',
        figures: { roundTrips: ourTrips, medianMs: b.median, p95Ms: b.p95 },
      },
      ratio: ratio(b.median, a.median),
      target: `1 round trip (baseline ${MEMORIES})`,
      pass: ourTrips === 1 && Math.min(...baseline.exchanges) === MEMORIES,
    };
  } finally {
    await Promise.all([naive.end({ timeout: 2 }), store.close()]);
    await counter.close();
  }
}

/** The naive agent: one autocommitted INSERT per memory, each awaited. */
async function insertEach(
  sql: postgres.Sql,
  userId: string,
  memories: readonly MemoryInput[],
): Promise<void> {
  for (const m of memories) {
    await sql`
      insert into public.memories (user_id, category, key, value, confidence, source)
      values (${userId}, ${m.category}, ${m.key}, ${m.value}, ${m.confidence}, ${m.source})`;
  }
}

export const batchedWrites: Scenario = {
  name: 'batched-writes',
  async run({ rttMs, runs, progress }) {
    const pg = await startTestPostgres();
    const proxy = await startDelayProxy(pg.port, rttMs);
    try {
      const remoteUrl = pg.url.replace(`:${pg.port}/`, `:${proxy.port}/`);
      const local = await measureBatchedWrites({
        url: pg.url,
        targetPort: pg.port,
        where: 'local',
        runs,
        progress,
      });
      const remote = await measureBatchedWrites({
        url: remoteUrl,
        targetPort: proxy.port,
        where: `${rttMs} ms RTT`,
        runs,
        progress,
      });
      return [local, remote];
    } finally {
      await proxy.close();
      await pg.stop();
    }
  },
};
