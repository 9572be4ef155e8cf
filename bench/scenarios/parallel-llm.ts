/**
 * 4. Parallel LLM calls: 5 independent calls of 200 ms, awaited one after the other vs the
 * memory extractor's parallel path (p-limit); and 20 calls under its limit of 8, where the
 * server counts the requests it holds at once. The speed-up is timed against a server in a process
 * of its own (its work must not share the client's thread); the count is read off a server in
 * this process, which only needs it to hold each request for the call's time.
 */
import { MemoryExtractor } from '../../src/memory/extraction/extractor.js';
import type { Turn } from '../../src/memory/outbox/outbox.js';
import { ConnectionPool } from '../../src/pool/connection-pool.js';
import { testConfig } from '../../test/support/config.js';
import { type OpenAIServer, startOpenAIServer } from '../../test/support/openai-server.js';
import { type Row, type Scenario, ratio, summarize, timed } from '../harness.js';
import { startOpenAIProcess } from '../support/openai-process.js';

export const CALL_MS = 200;
/** The limit the check holds the extractor to. */
export const LIMIT = 8;
const CALLS = 20;
let distinct = 0;
/** A batch no earlier call has seen: no coalescing, no cache hit. */
const batch = (): Turn[] => [
  {
    id: `t${++distinct}`,
    userId: `user-${distinct}`,
    userText: `My name is Caller${distinct}.`,
    assistantText: 'Nice to meet you.',
    at: new Date().toISOString(),
  },
];

const extractorOn = (pool: ConnectionPool, concurrency: number) =>
  new MemoryExtractor(() => pool.openaiBackground, { model: 'gpt-4o-mini', concurrency });
const poolFor = (baseURL: string) =>
  ConnectionPool.create(testConfig({ OPENAI_BASE_URL: baseURL }));

/**
 * 20 extraction calls at once through an extractor built with `concurrency`, `runs` times
 * after one warm-up; the server (answering each after `CALL_MS`) counts how many it held at once.
 *
 * The check fails when the limit does not hold: an extractor built with another limit (9
 * instead of 8), a limit not applied to every call (e.g. `extract` bypassing p-limit), or calls
 * awaited one by one (1 at once) — the server's maximum is then not 8.
 * @param options the server and pool to use, the extractor's limit, the run count
 * @returns the report row
 */
export async function measureLimitedCalls(options: {
  server: OpenAIServer;
  pool: ConnectionPool;
  concurrency?: number;
  runs: number;
  progress?: (message: string) => void;
}): Promise<Row> {
  const limited = extractorOn(options.pool, options.concurrency ?? LIMIT);
  const samples: number[] = [];
  let maxAtServer = 0;
  for (let run = 0; run <= options.runs; run++) {
    options.progress?.(
      `${CALLS} calls, run ${run}/${options.runs}${run === 0 ? ' (warm-up)' : ''}`,
    );
    options.server.resetMaxInFlight();
    const ms = await timed(() =>
      Promise.all(Array.from({ length: CALLS }, () => limited.extract(batch()))),
    );
    if (run === 0) continue;
    samples.push(ms);
    maxAtServer = Math.max(maxAtServer, options.server.maxInFlight);
  }
  const t = summarize(samples);
  const bound = 1.1 * Math.ceil(CALLS / LIMIT) * CALL_MS;
  return {
    scenario: 'parallel-llm',
    measure: `${CALLS} calls under a limit of ${LIMIT} (most in flight at the server)`,
    baseline: { label: 'the limit', figures: { inFlight: LIMIT, boundMs: bound } },
    ours: {
      label: `extractor, limit ${LIMIT}`,
      figures: { serverMaxInFlight: maxAtServer, medianMs: t.median, p95Ms: t.p95 },
    },
    ratio: ratio(t.median, bound),
    target: `server sees exactly ${LIMIT} at once`,
    pass: maxAtServer === LIMIT,
  };
}

/**
 * 5 calls one after the other vs the extractor's parallel path. Fails (speed-up about 1) when
 * the extractor awaits its calls one by one or is built with a limit of 1.
 */
async function measureParallel(pool: ConnectionPool, runs: number, progress: (m: string) => void) {
  const serial: number[] = [];
  const parallel: number[] = [];
  for (let run = 0; run <= runs; run++) {
    progress(`5 calls, run ${run}/${runs}${run === 0 ? ' (warm-up)' : ''}`);
    const one = extractorOn(pool, 5);
    const s = await timed(async () => {
      for (let i = 0; i < 5; i++) await one.extract(batch());
    });
    const p = await timed(() => Promise.all(Array.from({ length: 5 }, () => one.extract(batch()))));
    if (run === 0) continue;
    serial.push(s);
    parallel.push(p);
  }
  const s = summarize(serial);
  const p = summarize(parallel);
  const speedup = ratio(s.median, p.median)!;
  return {
    scenario: 'parallel-llm',
    measure: `5 extraction calls of ${CALL_MS} ms (speed-up = serial / parallel)`,
    baseline: { label: 'one after the other', figures: { medianMs: s.median, p95Ms: s.p95 } },
    ours: { label: 'extractor, limit 5', figures: { medianMs: p.median, p95Ms: p.p95 } },
    ratio: speedup,
    target: 'speed-up >= 4.8',
    pass: speedup >= 4.8,
  } satisfies Row;
}

export const parallelLlm: Scenario = {
  name: 'parallel-llm',
  async run({ runs, progress }) {
    const rows: Row[] = [];
    const remote = await startOpenAIProcess({ latencyMs: CALL_MS, noKeepAliveHint: true });
    const pool = await poolFor(remote.baseURL);
    try {
      rows.push(await measureParallel(pool, runs, progress));
    } finally {
      await pool.close();
      await remote.close();
    }
    const server = await startOpenAIServer({ latencyMs: CALL_MS, noKeepAliveHint: true });
    const counted = await poolFor(server.baseURL);
    try {
      rows.push(await measureLimitedCalls({ server, pool: counted, runs, progress }));
    } finally {
      await counted.close();
      await server.close();
    }
    return rows;
  },
};
