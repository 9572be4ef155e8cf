/**
 * 4. Parallel LLM calls: 5 independent calls of 200 ms, awaited one after the other vs the
 * memory extractor's parallel path (p-limit); and 20 calls under its limit of 8.
 */
import { MemoryExtractor } from '../../src/memory/extractor.js';
import type { Turn } from '../../src/memory/outbox.js';
import { ConnectionPool } from '../../src/pool/connection-pool.js';
import { testConfig } from '../../test/support/config.js';
import { ratio, summarize, timed, type Row, type Scenario } from '../harness.js';
import { startOpenAIProcess } from '../support/openai-process.js';

const CALL_MS = 200;
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

export const parallelLlm: Scenario = {
  name: 'parallel-llm',
  async run({ runs, progress }) {
    const server = await startOpenAIProcess({ latencyMs: CALL_MS });
    const pool = await ConnectionPool.create(testConfig({ OPENAI_BASE_URL: server.baseURL }));
    const extractor = (concurrency: number) =>
      new MemoryExtractor(() => pool.openaiBackground, { model: 'gpt-4o-mini', concurrency });
    try {
      const serial: number[] = [];
      const parallel: number[] = [];
      const twenty: number[] = [];
      for (let run = 0; run <= runs; run++) {
        progress(`run ${run}/${runs}${run === 0 ? ' (warm-up)' : ''}`);
        const one = extractor(5);
        const s = await timed(async () => {
          for (let i = 0; i < 5; i++) await one.extract(batch());
        });
        const p = await timed(() =>
          Promise.all(Array.from({ length: 5 }, () => one.extract(batch()))),
        );
        const limited = extractor(8);
        const t = await timed(() =>
          Promise.all(Array.from({ length: 20 }, () => limited.extract(batch()))),
        );
        if (run === 0) continue;
        serial.push(s);
        parallel.push(p);
        twenty.push(t);
      }
      const s = summarize(serial);
      const p = summarize(parallel);
      const t = summarize(twenty);
      const speedup = ratio(s.median, p.median)!;
      const bound = 1.1 * Math.ceil(20 / 8) * CALL_MS;
      const rows: Row[] = [
        {
          scenario: 'parallel-llm',
          measure: `5 extraction calls of ${CALL_MS} ms (speed-up = serial / parallel)`,
          baseline: { label: 'one after the other', figures: { medianMs: s.median, p95Ms: s.p95 } },
          ours: { label: 'extractor, limit 5', figures: { medianMs: p.median, p95Ms: p.p95 } },
          ratio: speedup,
          target: 'speed-up >= 4.8',
          pass: speedup >= 4.8,
        },
        {
          scenario: 'parallel-llm',
          measure: `20 calls under a limit of 8 (bound 1.1 × ceil(20/8) × ${CALL_MS} ms)`,
          baseline: { label: 'bound', figures: { ms: bound } },
          ours: { label: 'extractor, limit 8', figures: { medianMs: t.median, p95Ms: t.p95 } },
          ratio: ratio(t.median, bound),
          target: `<= ${bound} ms`,
          pass: t.median <= bound,
        },
      ];
      return rows;
    } finally {
      await pool.close();
      await server.close();
    }
  },
};
