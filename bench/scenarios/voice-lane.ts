/**
 * Issue 20: a voice turn's time to first token while background extraction saturates its lane
 * (MEMORY_CONCURRENCY=32 calls at once, each held 1 s by a slow LLM), against an idle pool
 * (target ≤ 1.05) and against today's shared cap (one dispatcher of 10 for both, as the pool was
 * before lanes), where the turn queues behind background work. The stand-in answers a streamed
 * turn's first token after 50 ms; it runs in this process (it only needs to hold requests).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI, { type ClientOptions } from 'openai';
import { Agent } from 'undici';
import { ConnectionPool } from '../../src/pool/connection-pool.js';
import { testConfig } from '../../test/support/config.js';
import {
  type OpenAIServer,
  defaultChatResponder,
  startOpenAIServer,
} from '../../test/support/openai-server.js';
import { type Row, type Scenario, ratio, summarize } from '../harness.js';

const FIRST_TOKEN_MS = 50;
const BACKGROUND_MS = 1_000;
const BACKGROUND_AT_ONCE = 32;
const TURN_GAP_MS = 150;

interface Clients {
  voice: OpenAI;
  background: OpenAI;
}

/** Milliseconds from sending a streamed turn to its first content token. */
async function firstToken(voice: OpenAI): Promise<number> {
  const started = performance.now();
  let first: number | undefined;
  const stream = await voice.chat.completions.create({
    model: 'gpt-4o-mini',
    stream: true,
    messages: [{ role: 'user', content: 'What is on my calendar?' }],
  });
  for await (const chunk of stream)
    if (first === undefined && chunk.choices[0]?.delta.content) first = performance.now();
  return (first ?? performance.now()) - started;
}

/** Keeps `BACKGROUND_AT_ONCE` extraction-like calls going until `stop()`; failures are counted. */
function saturate(background: OpenAI) {
  let running = true;
  let failed = 0;
  const worker = async () => {
    while (running) {
      await background.chat.completions
        .create(
          {
            model: 'gpt-4o-mini',
            messages: [{ role: 'user', content: 'My name is Maya.' }],
            response_format: { type: 'json_object' },
          },
          { maxRetries: 0 },
        )
        .catch(() => {
          failed++;
          return sleep(100); // as a processor's retry would wait
        });
    }
  };
  const workers = Array.from({ length: BACKGROUND_AT_ONCE }, worker);
  return {
    failed: () => failed,
    stop: async () => {
      running = false;
      await Promise.all(workers);
    },
  };
}

async function turns(clients: Clients, count: number, busy: boolean) {
  const load = busy ? saturate(clients.background) : undefined;
  if (load) await sleep(BACKGROUND_MS / 2); // every background connection is taken
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    samples.push(await firstToken(clients.voice));
    await sleep(TURN_GAP_MS);
  }
  await load?.stop();
  return { ...summarize(samples), backgroundFailures: load?.failed() ?? 0 };
}

/** The pool before lanes: one dispatcher with a cap of 10 that both clients send through. */
function sharedCap(baseURL: string): { clients: Clients; close(): Promise<void> } {
  const dispatcher = new Agent({ connections: 10, keepAliveTimeout: 60_000 });
  const fetchOptions = { dispatcher } as unknown as ClientOptions['fetchOptions'];
  const voice = new OpenAI({ apiKey: 'sk-bench', baseURL, maxRetries: 0, fetchOptions });
  return {
    clients: { voice, background: voice.withOptions({ maxRetries: 0 }) },
    close: () => dispatcher.close(),
  };
}

function serve(server: OpenAIServer): void {
  server.onChat(async (body) => {
    if (!body.stream) await sleep(BACKGROUND_MS);
    return defaultChatResponder(body);
  });
}

export const voiceLane: Scenario = {
  name: 'voice-lane',
  async run({ runs, progress }) {
    const count = Math.max(5, runs * 4);
    const server = await startOpenAIServer({ latencyMs: FIRST_TOKEN_MS });
    serve(server);
    const pool = await ConnectionPool.create(testConfig({ OPENAI_BASE_URL: server.baseURL }));
    const shared = sharedCap(server.baseURL);
    try {
      const lanes = { voice: pool.openai, background: pool.openaiBackground };
      await firstToken(shared.clients.voice); // its first connection, as prewarm would
      progress(`idle pool, ${count} turns`);
      const idle = await turns(lanes, count, false);
      progress(`lanes, background saturated, ${count} turns`);
      const busy = await turns(lanes, count, true);
      const gaveUp = pool.stats().connections.lanes.background.acquireTimeouts;
      // Each of these turns waits seconds in the queue: a few show it.
      const few = Math.max(3, runs);
      progress(`today's shared cap, background saturated, ${few} turns`);
      const before = await turns(shared.clients, few, true);
      const vsIdle = ratio(busy.median, idle.median)!;
      return [
        {
          scenario: 'voice-lane',
          measure: `voice turn time to first token, ${BACKGROUND_AT_ONCE} background calls of ${BACKGROUND_MS} ms at once`,
          baseline: { label: 'idle pool', figures: { medianMs: idle.median, p95Ms: idle.p95 } },
          ours: {
            label: 'lanes, background saturated',
            figures: { medianMs: busy.median, p95Ms: busy.p95, backgroundGaveUp: gaveUp },
          },
          ratio: vsIdle,
          target: 'ratio <= 1.05',
          pass: vsIdle <= 1.05,
        },
        {
          scenario: 'voice-lane',
          measure: 'same, against the shared cap of 10 (before lanes)',
          baseline: {
            label: 'shared cap, background saturated',
            figures: { medianMs: before.median, p95Ms: before.p95 },
          },
          ours: { label: 'lanes', figures: { medianMs: busy.median, p95Ms: busy.p95 } },
          ratio: ratio(busy.median, before.median),
          target: 'the turn no longer queues behind background work',
          pass: busy.p95 < before.median,
        },
      ] satisfies Row[];
    } finally {
      await shared.close();
      await pool.close();
      await server.close();
    }
  },
};
