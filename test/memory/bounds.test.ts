/**
 * What a job process holds in memory stays bounded while the store is down: extracted batches
 * waiting for the store (beyond the bound, turns wait unextracted, then on disk), and the
 * per-caller memories kept to skip unchanged facts. Production defaults, fake time.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type MemoryFixture, startMemoryFixture } from '../support/memory-fixture.js';
import { advance, advanceUntil, fakeTimeouts } from './support/fake-time.js';

let fx: MemoryFixture;
beforeAll(async () => {
  fx = await startMemoryFixture();
});
afterEach(() => {
  vi.useRealTimers();
});
afterAll(async () => {
  await fx?.stop();
});

/** The processor's default bound on batches waiting for the store. */
const MAX_PENDING_BATCHES = 100;

describe('bounded state while the store is down', () => {
  it('extracts no more than 100 batches ahead of the store, then stores everything once', async () => {
    const p = await fx.process();
    const callers = Array.from({ length: 150 }, (_, i) => fx.user(`bound${i}`));
    const chatBefore = fx.openai.chatCalls;
    fakeTimeouts();
    try {
      p.store.down = true;
      callers.forEach((userId, i) =>
        p.services.processor.enqueue({
          userId,
          userText: `My name is Bound${i}.`,
          assistantText: 'Noted.',
        }),
      );
      await advanceUntil(
        () => expect(p.services.processor.stats().pendingBatches).toBeGreaterThanOrEqual(100),
        30_000,
      );
      await advance(20_000); // the store stays down: nothing more is extracted
      const stats = p.services.processor.stats();
      // A few extractions were in flight when the bound was reached (the concurrency is 4).
      expect(stats.pendingBatches).toBeLessThanOrEqual(MAX_PENDING_BATCHES + 4);
      expect(stats.queued).toBe(callers.length - stats.pendingBatches);
      expect(fx.openai.chatCalls - chatBefore).toBe(stats.pendingBatches);

      p.store.down = false;
      // The outbox file goes right after its row: wait for both before reading either.
      await advanceUntil(async () => {
        expect(p.services.processor.stats().batchesStored).toBe(callers.length);
        expect(await p.services.outbox.depth()).toBe(0);
      }, 90_000);
      vi.useRealTimers(); // the store's driver runs on timers too
      for (const userId of callers) expect(await p.store.load(userId)).toHaveLength(1);
      expect(fx.openai.chatCalls - chatBefore).toBe(callers.length); // each turn extracted once
      expect(p.services.processor.stats()).toMatchObject({ pendingBatches: 0, queued: 0 });
      expect(await p.services.outbox.depth()).toBe(0);
    } finally {
      p.store.down = false;
      vi.useRealTimers();
      await p.close();
    }
  }, 90_000);

  it('keeps the known memories of at most 1,000 callers', async () => {
    const p = await fx.process();
    try {
      const memory = {
        category: 'identity' as const,
        key: 'name',
        value: 'Name is Kim',
        confidence: 0.9,
        source: 'extraction' as const,
        createdAt: new Date(),
        updatedAt: new Date(),
      };
      for (let i = 0; i < 1_500; i++) p.services.processor.prime(`known-${i}`, [memory]);
      expect(p.services.processor.stats().knownCallers).toBe(1_000);
    } finally {
      await p.close();
    }
  });
});
