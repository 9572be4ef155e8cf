/**
 * Issue 20's proof, with the production wiring and defaults (voice base 5 + overflow 2, the
 * background lane the other 10 of the cap of 17, a 5 s acquisition timeout), except
 * MEMORY_CONCURRENCY=32 as an operator tuning for throughput would set it: the LLM hangs for
 * background requests and background work saturates its lane, yet a voice turn's request goes
 * out at once; background requests past the acquisition timeout fail with the clear error and
 * the processor retries them later; nothing is lost. Time is faked (setTimeout only).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { advance, advanceUntil, fakeTimeouts } from '../memory/support/fake-time.js';
import { captureLogs } from '../memory/support/log-capture.js';
import { type MemoryFixture, startMemoryFixture } from '../support/memory-fixture.js';
import { defaultChatResponder } from '../support/openai-server.js';

let fx: MemoryFixture;
beforeAll(async () => {
  fx = await startMemoryFixture();
});
afterEach(() => {
  vi.useRealTimers();
  fx.openai.onChat();
});
afterAll(async () => {
  await fx?.stop();
});

const CALLERS = 16;
// Taken before the test fakes the timers: a real bound on the voice turn.
const realSetTimeout = globalThis.setTimeout;

/** Fails after `ms` of real time instead of hanging (a turn queued behind hung work would). */
function within<T>(ms: number, work: Promise<T>): Promise<T> {
  const late = new Promise<never>((_, reject) =>
    realSetTimeout(() => reject(new Error(`the voice turn got no answer within ${ms} ms`)), ms),
  );
  return Promise.race([work, late]);
}

describe('the voice lane never waits behind background work', () => {
  it('a voice turn goes out at once while the LLM hangs for background work; the waiting background requests fail fast and are retried, nothing lost', async () => {
    const { logger, lines } = captureLogs();
    const p = await fx.process({ MEMORY_CONCURRENCY: '32' }, { logger });
    // Extraction (non-streamed) hangs until released; the session's streamed turns answer.
    let release = () => undefined as void;
    const hung = new Promise<void>((resolve) => (release = resolve));
    fx.openai.onChat(async (body) => {
      if (!body.stream) await hung;
      return defaultChatResponder(body);
    });
    const callers = Array.from({ length: CALLERS }, (_, i) => fx.user(`lane${i}`));
    fakeTimeouts();
    try {
      for (const [i, userId] of callers.entries())
        p.services.processor.enqueue({
          userId,
          userText: `My name is Caller${i}.`,
          assistantText: 'Noted.',
        });
      // Past the batch delay and well into the acquisition timeout: the background lane's 10
      // connections hang, the other extractions wait for one.
      await advance(3_000);
      const background = () => p.pool.stats().connections.lanes.background;
      expect(background()).toMatchObject({ base: 10, running: 10 });
      expect(background().waiting).toBeGreaterThan(0);

      // A voice turn now: sent at once, measured at the server and in the lane's figures.
      const before = fx.openai.requests.length;
      const sentAt = Date.now();
      const text = await within(
        2_000,
        (async () => {
          const stream = await p.pool.openai.chat.completions.create({
            model: 'gpt-4o-mini',
            stream: true,
            messages: [{ role: 'user', content: 'What time is it?' }],
          });
          let said = '';
          for await (const chunk of stream) said += chunk.choices[0]?.delta.content ?? '';
          return said;
        })(),
      );
      expect(text.length).toBeGreaterThan(0);
      const received = fx.openai.requests
        .slice(before)
        .find((r) => r.path.endsWith('/chat/completions'));
      expect(received!.at - sentAt).toBeLessThan(100);
      const voice = p.pool.stats().connections.lanes.voice;
      expect(voice).toMatchObject({ waited: 0, maxWaitMs: 0, waiting: 0, acquireTimeoutMs: null });

      // Past the acquisition timeout: the waiting background requests failed fast, counted.
      await advance(5_000);
      const lane = background();
      expect(lane.acquireTimeouts).toBeGreaterThan(0);
      expect(lane.acquireTimeoutMs).toBe(5_000);
      // The extractions that waited failed with the clear error; their batches wait for a retry.
      await advanceUntil(() => {
        expect(lines).toContainEqual(
          expect.objectContaining({
            level: 'warn',
            msg: 'memory extraction failing: no background connection to the LLM came free within 5000 ms; turns kept, retrying with backoff',
          }),
        );
      }, 60_000);
      expect(p.services.processor.stats().failures.extraction).toBeGreaterThan(0);
      expect(p.services.processor.stats().batchesStored).toBe(0);
      // The cap holds: never more than 17 connections to the one origin.
      expect(fx.openai.openConnections).toBeLessThanOrEqual(17);

      // The LLM answers again: every caller's batch is stored, once.
      release();
      await advanceUntil(async () => {
        expect(await p.services.outbox.depth()).toBe(0);
      }, 180_000);
      for (const [i, userId] of callers.entries()) {
        const memories = await p.store.load(userId);
        expect(memories.filter((m) => m.key === 'name')).toHaveLength(1);
        expect(memories.find((m) => m.key === 'name')!.value).toContain(`Caller${i}`);
      }
      expect(p.services.processor.stats().batchesStored).toBe(CALLERS);
    } finally {
      release();
    }
  });
});
