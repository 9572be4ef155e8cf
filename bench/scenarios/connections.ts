/**
 * 1. Steady traffic: 200 OpenAI-style calls at concurrency 10 on a warm process. The starter's
 * way (one client on Node's global dispatcher, undici defaults) against the pool on production
 * defaults, through its background lane (where bulk work such as extraction goes: 10 of the 17
 * connections per origin), and with that lane at twice the concurrency (to tell the cap's cost
 * from the rest of the pool's per-request work), each in a process of its own, runs interleaved;
 * the stand-in sends no Keep-Alive hint. Steady traffic keeps every connection busy, so the pool
 * can only match the starter here: the claim is parity. A naive baseline (a new dispatcher per
 * call) stays as an extra row, labelled so.
 */
import { type Row, type Scenario, median, ratio, summarize } from '../harness.js';
import { type CallProcess, startCallProcess } from '../support/call-processes.js';
import type { BurstResult, CallCommand } from '../support/call-protocol.js';
import { startRemoteOpenAI } from '../support/remote-openai.js';

const CALLS = 200;
const CONCURRENCY = 10;
/** The naive way takes about 3× as long: fewer runs keep the bench short. */
const NAIVE_RUNS = 2;
/** The voice lane's base and overflow on production defaults (its keep-warm opens 2 in prewarm). */
const VOICE_LANE = 7;
const VOICE_WARM = 2;

const burst = (client: Extract<CallCommand, { do: 'burst' }>['client']): CallCommand => ({
  do: 'burst',
  calls: CALLS,
  concurrency: CONCURRENCY,
  client,
});

type Variant = 'starter' | 'pool' | 'poolCap20';
type Measured = Record<Variant, BurstResult[]>;

export const connections: Scenario = {
  name: 'connections',
  async run({ rttMs, runs, progress }) {
    const remote = await startRemoteOpenAI(rttMs, { noKeepAliveHint: true });
    try {
      // Each pool is built (and warmed) before the runs, as prewarm does; every process takes
      // one unmeasured run first, so all of them are warm.
      const processes = await Promise.all([
        startCallProcess('starter', remote),
        startCallProcess('pool', remote),
        startCallProcess('pool', remote, {
          // The voice lane keeps its 5 + 2: the background lane gets twice the concurrency.
          POOL_CONNECTIONS_PER_ORIGIN: String(2 * CONCURRENCY + VOICE_LANE),
        }),
      ]);
      const variants: [Variant, CallProcess][] = [
        ['starter', processes[0]],
        ['pool', processes[1]],
        ['poolCap20', processes[2]],
      ];
      try {
        const measured: Measured = { starter: [], pool: [], poolCap20: [] };
        for (let run = 0; run <= runs; run++) {
          progress(`run ${run}/${runs}${run === 0 ? ' (warm-up)' : ''}`);
          // Rotate who goes first, so a drift of the machine's load hits all alike.
          for (let i = 0; i < variants.length; i++) {
            const [name, process] = variants[(run + i) % variants.length]!;
            const result = await process.send<BurstResult>(burst('shared'));
            if (run > 0) measured[name].push(result);
          }
        }
        const naive: BurstResult[] = [];
        for (let run = 0; run <= NAIVE_RUNS; run++) {
          progress(`naive run ${run}/${NAIVE_RUNS}${run === 0 ? ' (warm-up)' : ''}`);
          const result = await variants[0]![1].send<BurstResult>(burst('fresh-dispatcher'));
          if (run > 0) naive.push(result);
        }
        const rows = rowsFor(rttMs, measured, naive);
        const opened = (v: Variant) => measured[v].at(-1)!.connectionsSinceStart;
        progress(
          `verdict: steady traffic, pool/starter ${rows[0]!.ratio} (target <= 1.02), ` +
            `with the background lane at ${2 * CONCURRENCY} ${rows[1]!.ratio}; connections ` +
            `${opened('pool')} vs ${opened('starter')}` +
            (rows.every((r) => r.pass) ? '; pass' : `; FAIL: ${failed(rows)}`),
        );
        return rows;
      } finally {
        await Promise.all(variants.map(([, p]) => p.close()));
      }
    } finally {
      await remote.close();
    }
  },
};

const failed = (rows: Row[]) =>
  rows
    .filter((r) => !r.pass)
    .map((r) => r.measure)
    .join('; ');

function rowsFor(rttMs: number, measured: Measured, naive: BurstResult[]): Row[] {
  const wall = (v: Variant) => summarize(measured[v].map((r) => r.ms));
  const cpu = (v: Variant) => median(measured[v].map((r) => r.cpuMs));
  const figures = (v: Variant) => ({
    medianMs: wall(v).median,
    p95Ms: wall(v).p95,
    cpuMedianMs: cpu(v),
  });
  const starterLabel = 'starter: one client, global dispatcher';
  const parity = ratio(wall('pool').median, wall('starter').median)!;
  const uncapped = ratio(wall('poolCap20').median, wall('starter').median)!;
  const naiveMs = median(naive.map((r) => r.ms));
  const naiveRatio = ratio(wall('pool').median, naiveMs)!;
  const inRuns = (v: Variant) => measured[v].reduce((n, r) => n + r.connections, 0);
  const opened = (v: Variant) => measured[v].at(-1)!.connectionsSinceStart;
  return [
    {
      scenario: 'connections',
      measure: `wall time, ${CALLS} calls at concurrency ${CONCURRENCY}, warm process, ${rttMs} ms RTT`,
      baseline: { label: starterLabel, figures: figures('starter') },
      ours: {
        label: `pool (defaults: background lane, ${CONCURRENCY} of 17 per origin)`,
        figures: figures('pool'),
      },
      ratio: parity,
      target: 'ratio <= 1.02 (parity)',
      // Fails if the pool's per-request work costs over 2 % of a request, or if its cap makes
      // calls wait for a connection (the next row tells which).
      pass: parity <= 1.02,
    },
    {
      scenario: 'connections',
      measure: 'same, the background lane at twice the concurrency',
      baseline: { label: starterLabel, figures: figures('starter') },
      ours: { label: `pool, background lane ${2 * CONCURRENCY}`, figures: figures('poolCap20') },
      ratio: uncapped,
      target: 'ratio <= 1.02 (parity)',
      // Fails if the pool's accounting, abort watch or fetch wrapper costs over 2 % of a request.
      pass: uncapped <= 1.02,
    },
    {
      scenario: 'connections',
      measure: 'connections the process opened (prewarm and warm-up run included)',
      baseline: {
        label: starterLabel,
        figures: { connections: opened('starter'), inMeasuredRuns: inRuns('starter') },
      },
      ours: {
        label: 'pool',
        figures: { connections: opened('pool'), inMeasuredRuns: inRuns('pool') },
      },
      ratio: ratio(opened('pool'), opened('starter')),
      target: `<= ${CONCURRENCY} + ${VOICE_WARM} warm voice, none in measured runs`,
      // Fails if the cap were removed (undici opens ~1.5-2x the concurrency, as the starter
      // does), or if a warm connection were lost between runs (keep-alive, a broken socket).
      pass: opened('pool') <= CONCURRENCY + VOICE_WARM && inRuns('pool') === 0,
    },
    {
      scenario: 'connections',
      measure: `wall time, same calls, against a naive baseline (${NAIVE_RUNS} runs)`,
      baseline: {
        label: 'naive: a new dispatcher per call',
        figures: { medianMs: naiveMs, connections: Math.max(...naive.map((r) => r.connections)) },
      },
      ours: { label: 'pool', figures: { medianMs: wall('pool').median } },
      ratio: naiveRatio,
      target: 'ratio <= 0.4',
      // Fails if the pool stopped reusing connections (a connection, and a handshake, per call).
      pass: naiveRatio <= 0.4,
    },
  ];
}
