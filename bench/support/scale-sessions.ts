/**
 * One level of the scale scenario, in a process of its own so its RSS and event loop are its
 * own: builds what a job process builds, runs one session to warm the code paths, then N
 * concurrent simulated sessions (entry with memories and greeting, streamed LLM turns each
 * queued for memory processing), flushes the memory queue, and prints one JSON line of figures.
 *
 *   node --import tsx bench/support/scale-sessions.ts '<ScaleLevelInput as JSON>'
 */
import { initializeLogger } from '@livekit/agents';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type OpenAI from 'openai';
import { openCall } from '../../src/call/caller-call.js';
import { type BenchProcess, startJobProcess } from './job-process.js';

export interface ScaleLevelInput {
  sessions: number;
  turns: number;
  cap: number;
  baseURL: string;
  ca: string;
  postgresUrl: string;
  dataDir: string;
}

export interface ScaleLevelResult {
  sessions: number;
  maxConnectionsPerOrigin: number;
  connectionsOpened: number;
  baseRssMiB: number;
  peakRssMiB: number;
  /** RSS and heap after a full GC, with every call of the level still open. */
  heldRssMiB: number;
  baseHeapMiB: number;
  heldHeapMiB: number;
  eventLoopMaxMs: number;
  eventLoopP99Ms: number;
  /** CPU time the process used during its longest event-loop gap (all its threads). */
  longestGapMs: number;
  longestGapCpuMs: number;
  seconds: number;
  turnsProcessed: number;
  /** The machine's 1-minute load average at the end of the level. */
  loadAverage: number;
}

/**
 * One simulated call. Once its turns are done it waits for `hold` (the other calls still going),
 * so what every open call keeps in memory is still held when the level is measured.
 */
async function session(
  p: BenchProcess,
  userId: string,
  turns: number,
  hold: Promise<void> = Promise.resolve(),
): Promise<void> {
  const call = await openCall({ pool: p.pool, config: p.config, services: p.services, userId });
  const messages: OpenAI.ChatCompletionMessageParam[] = [
    { role: 'assistant', content: call.greeting.text },
  ];
  for (let i = 0; i < turns; i++) {
    const userText =
      i === 0 ? `I like tea number ${userId.length + i}.` : `Tell me more, part ${i}.`;
    messages.push({ role: 'user', content: userText });
    const stream = await p.pool.openai.chat.completions.create({
      model: p.config.openai.llmModel,
      messages,
      stream: true,
    });
    let assistantText = '';
    for await (const chunk of stream) assistantText += chunk.choices[0]?.delta.content ?? '';
    p.services.processor.enqueue({ userId, userText, assistantText });
    messages.push({ role: 'assistant', content: assistantText });
  }
  arrived();
  await hold;
  void call; // held until here
}

let arrived = () => undefined as void;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

const MiB = 2 ** 20;
const input = JSON.parse(process.argv[2] ?? '{}') as ScaleLevelInput;
initializeLogger({ pretty: false, level: 'silent' });
const p = await startJobProcess({
  remote: { baseURL: input.baseURL, ca: input.ca },
  postgresUrl: input.postgresUrl,
  dataDir: input.dataDir,
  env: { POOL_CONNECTIONS_PER_ORIGIN: String(input.cap), MEMORY_BATCH_DELAY_MS: '50' },
});
// One session first: code paths compiled and buffers allocated count in the base, not growth.
await session(p, `scale-warm-${process.pid}`, input.turns);
await p.services.processor.flush();
const openedBefore = p.pool.stats().connections.opened;
gc();
const base = process.memoryUsage();
const baseRss = base.rss;
let peakRss = baseRss;
let maxPerOrigin = 0;
const sampler = setInterval(() => {
  for (const origin of Object.values(p.pool.stats().connections.perOrigin))
    maxPerOrigin = Math.max(maxPerOrigin, origin.connected);
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 10);
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
// The longest gap between two ticks of a 5 ms timer, and the CPU time this process used in it:
// on a shared machine a gap can also be time the OS gave to other processes.
let measuring = true;
let lastTick = performance.now();
let lastCpu = process.cpuUsage();
let longestGap = { ms: 0, cpuMs: 0 };
const ticker = setInterval(() => {
  const now = performance.now();
  const cpu = process.cpuUsage();
  const gap = now - lastTick;
  if (measuring && gap > longestGap.ms) {
    const cpuMs = (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000;
    longestGap = { ms: gap, cpuMs };
  }
  lastTick = now;
  lastCpu = cpu;
}, 5);
const started = performance.now();
let release!: () => void;
const hold = new Promise<void>((resolve) => (release = resolve));
let open = input.sessions;
const allArrived = new Promise<void>((resolve) => {
  arrived = () => {
    if (--open === 0) resolve();
  };
});
const sessions = Promise.all(
  Array.from({ length: input.sessions }, (_, i) =>
    session(p, `scale-${input.sessions}-${i}-${process.pid}`, input.turns, hold),
  ),
);
await allArrived;
await p.services.processor.flush();
loop.disable(); // the forced GC below is the benchmark's, not a stall of the product
measuring = false;
clearInterval(ticker);
gc();
const held = process.memoryUsage();
release();
await sessions;
const seconds = (performance.now() - started) / 1000;
clearInterval(sampler);
const stats = p.pool.stats();
const memory = stats.components.memory as { turnsProcessed: number };
const result: ScaleLevelResult = {
  sessions: input.sessions,
  maxConnectionsPerOrigin: maxPerOrigin,
  connectionsOpened: stats.connections.opened - openedBefore,
  baseRssMiB: baseRss / MiB,
  peakRssMiB: peakRss / MiB,
  heldRssMiB: held.rss / MiB,
  baseHeapMiB: base.heapUsed / MiB,
  heldHeapMiB: held.heapUsed / MiB,
  eventLoopMaxMs: loop.max / 1e6,
  eventLoopP99Ms: loop.percentile(99) / 1e6,
  longestGapMs: longestGap.ms,
  longestGapCpuMs: longestGap.cpuMs,
  seconds,
  turnsProcessed: memory.turnsProcessed,
  loadAverage: loadavg()[0]!,
};
await p.close();
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
