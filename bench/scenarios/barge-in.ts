/**
 * 2. Barge-in: a streamed reply aborted after two chunks (what an interruption does), then the
 * next turn. The abort destroys its HTTP/1.1 connection; the pool replaces it at once, so the
 * next turn's time to first token should match a turn after an uninterrupted reply.
 */
import type OpenAI from 'openai';
import { type Scenario, ratio, summarize } from '../harness.js';
import { remotePool, untilIdle } from '../support/clients.js';
import { startRemoteOpenAI } from '../support/remote-openai.js';

/** Time from a caller's interruption to the next LLM request: it must be spoken and transcribed. */
const PAUSE_MS = 200;

async function timeToFirstToken(client: OpenAI): Promise<number> {
  const started = performance.now();
  const stream = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'go on' }],
    stream: true,
  });
  let ttft = -1;
  for await (const chunk of stream) {
    if (ttft < 0 && chunk.choices[0]?.delta.content) ttft = performance.now() - started;
  }
  return ttft;
}

async function streamAndAbort(client: OpenAI, afterChunks: number): Promise<void> {
  const controller = new AbortController();
  const stream = await client.chat.completions.create(
    {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'tell me a story' }],
      stream: true,
    },
    { signal: controller.signal },
  );
  let seen = 0;
  try {
    for await (const _chunk of stream) if (++seen === afterChunks) controller.abort();
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  }
}

const pause = () => new Promise((r) => setTimeout(r, PAUSE_MS));

export const bargeIn: Scenario = {
  name: 'barge-in',
  async run({ rttMs, runs, progress }) {
    const remote = await startRemoteOpenAI(rttMs, { chunkDelayMs: 10 });
    remote.server.onChat(() => ({
      content: Array.from({ length: 40 }, (_, i) => `word${i}`).join(' '),
    }));
    const pool = await remotePool(remote);
    try {
      const uninterrupted: number[] = [];
      const afterAbort: number[] = [];
      const opened: number[] = [];
      const turns = Math.max(5, runs * 2);
      for (let i = 0; i <= turns; i++) {
        if (i % 5 === 0) progress(`turn pair ${i}/${turns}`);
        await untilIdle(pool);
        await timeToFirstToken(pool.openai); // a reply heard to the end
        await pause();
        const a = await timeToFirstToken(pool.openai);

        await streamAndAbort(pool.openai, 2); // the caller barges in
        await pause();
        const before = remote.proxy.accepted;
        const b = await timeToFirstToken(pool.openai);
        if (i === 0) continue; // warm-up
        uninterrupted.push(a);
        afterAbort.push(b);
        opened.push(remote.proxy.accepted - before);
      }
      const base = summarize(uninterrupted);
      const ours = summarize(afterAbort);
      const r = ratio(ours.median, base.median)!;
      return [
        {
          scenario: 'barge-in',
          measure: `next turn's time to first token (${PAUSE_MS} ms after the interruption)`,
          baseline: {
            label: 'after an uninterrupted reply',
            figures: { medianMs: base.median, p95Ms: base.p95 },
          },
          ours: {
            label: 'after an aborted reply',
            figures: {
              medianMs: ours.median,
              p95Ms: ours.p95,
              connectionsOpenedOnTheTurn: Math.max(...opened),
              replacements: pool.stats().connections.replacedAfterAbort,
            },
          },
          ratio: r,
          target: 'ratio <= 1.1',
          pass: r <= 1.1,
        },
      ];
    } finally {
      await pool.close();
      await remote.close();
    }
  },
};
