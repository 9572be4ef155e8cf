/**
 * A store outage with the worker wired as a job process wires it (production defaults, no delay
 * overrides): the processor backs off instead of looping, says so once, and stores every turn
 * once when the store is back. Time is faked; the store, the LLM and the outbox are real.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type MemoryFixture, startMemoryFixture } from '../support/memory-fixture.js';
import { advance, advanceUntil, fakeTimeouts } from './support/fake-time.js';
import { captureLogs } from './support/log-capture.js';

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

const turn = (userId: string, userText: string) => ({ userId, userText, assistantText: 'Noted.' });

describe('a store outage, production wiring', () => {
  it('backs off (few store calls, one warning), then stores every turn once', async () => {
    const { logger, lines } = captureLogs();
    const p = await fx.process({}, { logger });
    const [ines, omar] = [fx.user('ines'), fx.user('omar')];
    fakeTimeouts();
    try {
      p.store.down = true;
      p.services.processor.enqueue(turn(ines, 'My name is Ines.'));
      p.services.processor.enqueue(turn(ines, "I'm working on a sailing dinghy."));
      p.services.processor.enqueue(turn(omar, 'My name is Omar.'));
      await advance(60_000);

      const calls = p.store.calls.save;
      // The old wiring made ~336 calls a second here; a backoff from 1 s to 60 s makes a few.
      expect(calls).toBeGreaterThanOrEqual(2);
      expect(calls).toBeLessThanOrEqual(8);
      const storeWarnings = lines.filter((l) => l.level === 'warn' && /memory store/.test(l.msg));
      expect(storeWarnings).toHaveLength(1);
      const stats = p.services.processor.stats();
      expect(stats.retry.store.attempts).toBeGreaterThanOrEqual(2);
      expect(stats.retry.store.nextAttemptAt).toEqual(expect.any(String));
      expect(stats.failures.store).toBe(calls);
      expect(stats.batchesStored).toBe(0);
      expect(await p.services.outbox.depth()).toBe(2); // one batch per caller, waiting

      p.store.down = false;
      // The next attempt is at most the 60 s cap away.
      await advanceUntil(async () => {
        expect(await p.services.outbox.depth()).toBe(0);
      }, 65_000);
      expect(p.store.calls.save - calls).toBe(2); // each batch once
      expect((await p.store.load(ines)).map((m) => m.key).sort()).toEqual([
        'current_project',
        'name',
      ]);
      expect((await p.store.load(omar)).map((m) => m.key)).toEqual(['name']);
      const after = p.services.processor.stats();
      expect(after).toMatchObject({ batchesStored: 2, turnsProcessed: 3, deadLettered: 0 });
      expect(after.retry.store.attempts).toBe(0); // reset by the success
      expect(lines.some((l) => l.level === 'info' && /memory store is back/.test(l.msg))).toBe(
        true,
      );
    } finally {
      p.store.down = false;
      vi.useRealTimers();
      await p.close();
    }
  }, 60_000);
});
