/**
 * A misconfigured or broken LLM (a rotated key, a wrong model, a few seconds of garbage) is the
 * service's fault, not the turns': with the production wiring nothing is set aside, the retries
 * back off, stats and the pool's health say why, and every turn is stored once after recovery.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EXTRACTION_HEALTH } from '../../src/memory/memory-services.js';
import {
  type MemoryFixture,
  type ProcessUnderTest,
  startMemoryFixture,
} from '../support/memory-fixture.js';
import { defaultChatResponder } from '../support/openai-server.js';
import { advance, advanceUntil, fakeTimeouts } from './support/fake-time.js';
import { captureLogs } from './support/log-capture.js';

// A fixture of its own for each test: what one test's fake clock left running in a process it
// closed (a retry, a half-finished extraction) must not count as another test's service outcome.
let fx: MemoryFixture;
beforeEach(async () => {
  fx = await startMemoryFixture();
});
afterEach(async () => {
  vi.useRealTimers();
  await fx?.stop();
});

/** The dead-letter folder's files; none when it was never made (any other error fails). */
async function deadLetters(): Promise<string[]> {
  return readdir(join(fx.dataDir, 'outbox', 'dead-letter')).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  });
}

/**
 * Under the fake clock, waits for the processor to have written both callers' batches and
 * removed their outbox files (the file goes after the row: waiting on the store alone races it);
 * then reads the store with real timers (its driver's timers are faked too).
 */
async function storedOnce(p: ProcessUnderTest, callers: readonly string[]): Promise<void> {
  await advanceUntil(async () => {
    expect(p.services.processor.stats()).toMatchObject({ batchesStored: 2, pendingBatches: 0 });
    expect(await p.services.outbox.depth()).toBe(0);
  }, 65_000);
  vi.useRealTimers();
  for (const userId of callers) expect(await p.store.load(userId)).toHaveLength(1);
}

/** Two callers' turns, queued in a process built as production builds it. */
async function twoCallers() {
  const { logger, lines } = captureLogs();
  const p = await fx.process({}, { logger });
  const callers = [fx.user('ada'), fx.user('ben')] as const;
  fakeTimeouts();
  const turns = callers.map((userId, i) =>
    p.services.processor.enqueue({
      userId,
      userText: `My name is ${['Ada', 'Ben'][i]}.`,
      assistantText: 'Noted.',
    })!,
  );
  return { p, lines, callers, turns };
}

describe('LLM setup errors are not poison', () => {
  it.each([
    [401, 'the LLM rejected the API key (401)'],
    [403, 'the LLM refused access to the model (403)'],
    [404, 'the LLM does not know the model or the endpoint (404)'],
  ] as const)(
    'HTTP %i: turns kept, backoff, "%s" in stats and health',
    async (status, reason) => {
      fx.openai.injectFault(
        { kind: 'status', status },
        { count: 10_000, path: '/chat/completions' },
      );
      const chatBefore = fx.openai.chatCalls;
      const { p, lines, callers, turns } = await twoCallers();
      try {
        await advance(30_000);
        const stats = p.services.processor.stats();
        expect(stats.deadLettered).toBe(0);
        const dead = await deadLetters();
        for (const turn of turns) expect(dead).not.toContain(`turn-${turn.id}.json`);
        expect(stats.extraction).toMatchObject({ status: 'degraded', reason });
        expect(stats.failing.extraction?.lastError).toMatch(String(status));
        // Backing off: a handful of rounds in 30 s, both callers' batches in each.
        const rounds = stats.retry.extraction.attempts;
        expect(rounds).toBeGreaterThanOrEqual(2);
        expect(rounds).toBeLessThanOrEqual(6);
        expect(fx.openai.chatCalls - chatBefore).toBeLessThanOrEqual(2 * (rounds + 1));
        const health = (await p.pool.checkHealth())[EXTRACTION_HEALTH];
        expect(health?.status).not.toBe('healthy');
        expect(health?.lastError).toContain(reason);
        const warnings = lines.filter((l) => l.level === 'warn' && /extraction/.test(l.msg));
        expect(warnings).toHaveLength(1);
        expect(warnings[0]!.msg).toContain(reason);

        fx.openai.clearFaults(); // the operator fixed the key or the model
        await storedOnce(p, callers);
        expect(p.store.calls.save).toBe(2); // each caller's batch once
        expect(p.services.processor.stats()).toMatchObject({
          deadLettered: 0,
          turnsProcessed: 2,
          extraction: { status: 'healthy' },
          retry: { extraction: { attempts: 0 } },
        });
        expect((await p.pool.checkHealth())[EXTRACTION_HEALTH]?.status).toBe('healthy');
        expect(lines.some((l) => l.level === 'info' && l.msg === 'memory extraction is back')).toBe(
          true,
        );
        expect(await p.services.outbox.depth()).toBe(0);
      } finally {
        vi.useRealTimers();
        await p.close();
      }
    },
    60_000,
  );

  it('a few seconds of unusable answers for everyone: nothing set aside, all stored once', async () => {
    let broken = true;
    fx.openai.onChat((body) =>
      broken ? { content: 'Sure! {memories: [name = ' } : defaultChatResponder(body),
    );
    const { p, callers, turns } = await twoCallers();
    try {
      // The first round ends (four answers, each retried in the call) a few seconds in.
      await advanceUntil(
        () => expect(p.services.processor.stats().extraction.status).toBe('degraded'),
        30_000,
      );
      await advance(8_000);
      const stats = p.services.processor.stats();
      expect(stats.deadLettered).toBe(0);
      expect(stats.extraction).toMatchObject({ status: 'degraded', reason: /unusable/ });

      broken = false;
      await storedOnce(p, callers);
      const dead = await deadLetters();
      for (const turn of turns) expect(dead).not.toContain(`turn-${turn.id}.json`);
      expect(p.store.calls.save).toBe(2);
      expect(p.services.processor.stats()).toMatchObject({
        deadLettered: 0,
        extraction: { status: 'healthy' },
      });
      expect(await p.services.outbox.depth()).toBe(0);
    } finally {
      vi.useRealTimers();
      await p.close();
    }
  }, 60_000);
});
