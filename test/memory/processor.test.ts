import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type MemoryFixture, eventually, startMemoryFixture } from '../support/memory-fixture.js';
import { defaultChatResponder } from '../support/openai-server.js';
import { advanceUntil, fakeTimeouts } from './support/fake-time.js';

let fx: MemoryFixture;
beforeAll(async () => {
  fx = await startMemoryFixture();
});
afterAll(async () => {
  await fx?.stop();
});

const turn = (userId: string, userText: string) => ({ userId, userText, assistantText: 'Got it.' });

describe('background memory processing', () => {
  it('returns at once, batches a caller’s turns and stores them in one round trip', async () => {
    const p = await fx.process();
    fx.openai.setLatency(300);
    try {
      const user = fx.user();
      const started = performance.now();
      p.services.processor.enqueue(turn(user, 'Hi, my name is Maya.'));
      p.services.processor.enqueue(turn(user, "I'm working on a garden shed."));
      p.services.processor.enqueue(turn(user, 'I like green tea.'));
      // The voice loop does not wait for the LLM (300 ms) or the store.
      expect(performance.now() - started).toBeLessThan(50);

      await p.services.processor.flush();
      const stats = p.services.processor.stats();
      expect(stats.turnsProcessed).toBe(3);
      expect(stats.batchesStored).toBe(1);
      expect(stats.storeCalls).toBe(1);
      expect(p.store.calls.save).toBe(1);
      const memories = await p.store.load(user);
      expect(memories.map((m) => m.key).sort()).toEqual(
        expect.arrayContaining(['name', 'current_project']),
      );
      expect(memories.find((m) => m.key === 'name')?.value).toMatch(/Maya/);
      expect(await p.services.outbox.depth()).toBe(0);
    } finally {
      fx.openai.setLatency(0);
      await p.close();
    }
  });

  it('runs extraction for different callers in parallel, under the limit', async () => {
    const run = async (concurrency: string) => {
      const p = await fx.process({ MEMORY_CONCURRENCY: concurrency });
      try {
        const users = Array.from({ length: 5 }, () => fx.user());
        const started = performance.now();
        users.forEach((u, i) => p.services.processor.enqueue(turn(u, `My name is Person${i}.`)));
        await p.services.processor.flush();
        const elapsed = performance.now() - started;
        return { elapsed, maxInFlight: p.services.extractor.counters.maxInFlight };
      } finally {
        await p.close();
      }
    };
    fx.openai.setLatency(200);
    try {
      const serial = await run('1');
      const parallel = await run('5');
      expect(serial.maxInFlight).toBe(1);
      expect(parallel.maxInFlight).toBe(5);
      // Five 200 ms calls: about 1 s one by one, about 0.2 s side by side.
      expect(parallel.elapsed / serial.elapsed).toBeLessThan(0.5);
    } finally {
      fx.openai.setLatency(0);
    }
  });

  it('keeps a batch in the outbox while the store is down and stores it once when it is back', async () => {
    const p = await fx.process();
    const user = fx.user();
    try {
      p.store.down = true;
      p.services.processor.enqueue(turn(user, 'My name is Ines.'));
      await p.services.processor.flush();
      expect(p.services.processor.stats().failed).toBeGreaterThan(0);
      expect(await p.services.outbox.depth()).toBe(1);

      p.store.down = false;
      await eventually(async () => expect(await p.store.load(user)).toHaveLength(1));
      // The outbox file goes right after the save that made the row visible.
      await eventually(async () => expect(await p.services.outbox.depth()).toBe(0));
      expect(p.services.processor.stats().batchesStored).toBe(1);
    } finally {
      p.store.down = false;
      await p.close();
    }
  });

  it('retries when the LLM fails (500, 429 with Retry-After) and loses nothing', async () => {
    const p = await fx.process();
    const user = fx.user();
    try {
      fx.openai.injectFault({ kind: 'status', status: 500 }, { count: 1 });
      fx.openai.injectFault({ kind: 'status', status: 429, retryAfter: 0.05 }, { count: 1 });
      p.services.processor.enqueue(turn(user, 'My name is Oskar.'));
      await eventually(async () => expect(await p.store.load(user)).toHaveLength(1));
      expect(p.services.extractor.counters.retried).toBeGreaterThanOrEqual(2);
    } finally {
      fx.openai.clearFaults();
      await p.close();
    }
  });

  it('sets aside a batch the LLM keeps answering with garbage while others succeed', async () => {
    // Only this caller's conversation gets unusable answers: it is the input, not the service.
    fx.openai.onChat((body) =>
      JSON.stringify(body.messages).includes('Zed')
        ? { content: 'Sure! {memories: [name = Zed' }
        : defaultChatResponder(body),
    );
    const p = await fx.process();
    const [bad, good] = [fx.user('bad'), fx.user('good')];
    fakeTimeouts();
    try {
      const poison = p.services.processor.enqueue(turn(bad, 'My name is Zed.'))!;
      p.services.processor.enqueue(turn(good, 'My name is Yara.'));
      // Counted as it is set aside; its file moves right after: wait for both.
      await advanceUntil(async () => {
        expect(p.services.processor.stats().deadLettered).toBe(1);
        expect(await p.services.outbox.depth()).toBe(0);
      }, 60_000);
      vi.useRealTimers(); // the store's driver runs on timers too
      expect(await p.store.load(good)).toHaveLength(1);
      expect(await p.store.load(bad)).toHaveLength(0);
      // Three attempts over backoff rounds (each retried within the call), then set aside.
      const zedCalls = fx.openai.requests.filter(
        (r) => r.path === '/v1/chat/completions' && JSON.stringify(r.body).includes('Zed'),
      );
      expect(zedCalls).toHaveLength(3 * 4);
      const deadLetters = await readdir(join(fx.dataDir, 'outbox', 'dead-letter'));
      expect(deadLetters).toContain(`turn-${poison.id}.json`);
      expect(p.services.processor.stats().extraction).toEqual({ status: 'healthy' });
      expect(await p.services.outbox.depth()).toBe(0);
    } finally {
      vi.useRealTimers();
      fx.openai.onChat(undefined);
      await p.close();
    }
  }, 30_000);

  it('replays what a dead process left in the outbox, exactly once', async () => {
    const user = fx.user();
    const first = await fx.process();
    fakeTimeouts(); // it dies before its batch delay is up: nothing is extracted
    first.services.processor.enqueue(turn(user, 'My name is Kai.'));
    first.services.processor.enqueue(turn(user, "I'm working on a podcast."));
    await first.services.processor.settled();
    await first.close(); // gone without draining, as a killed process would be
    vi.useRealTimers();

    const second = await fx.process();
    try {
      expect(await second.services.processor.replay()).toBe(2);
      const memories = await second.store.load(user);
      expect(memories.map((m) => m.key).sort()).toEqual(['current_project', 'name']);
      // A second replay finds nothing: nothing is stored twice.
      expect(await second.services.processor.replay()).toBe(0);
      expect(await second.store.load(user)).toHaveLength(2);
    } finally {
      await second.close();
    }
  });

  it('drains within its deadline and leaves the rest in the outbox for the next process', async () => {
    const user = fx.user();
    const p = await fx.process();
    fx.openai.injectFault({ kind: 'hang' }, { count: 5 });
    p.services.processor.enqueue(turn(user, 'My name is Lea.'));
    const report = await p.services.processor.drain(300);
    expect(report.drained).toBe(false);
    expect(report.left).toBeGreaterThan(0);
    expect(report.elapsedMs).toBeLessThan(3_000);
    await p.close();
    fx.openai.clearFaults();

    const next = await fx.process();
    try {
      await next.services.processor.replay();
      expect((await next.store.load(user)).map((m) => m.key)).toEqual(['name']);
    } finally {
      await next.close();
    }
  });

  it('applies backpressure: a bounded queue, the overflow waits on disk, nothing is lost', async () => {
    const p = await fx.process({ MEMORY_MAX_QUEUED_TURNS: '10', MEMORY_BATCH_SIZE: '5' });
    const users = Array.from({ length: 30 }, (_, i) => fx.user(`load${i}`));
    try {
      fx.openai.setLatency(50);
      users.forEach((u, i) => p.services.processor.enqueue(turn(u, `My name is Load${i}.`)));
      expect(p.services.processor.queuedTurns()).toBeLessThanOrEqual(10);
      expect(p.services.processor.stats().spilled).toBe(20);
      await eventually(async () => {
        await p.services.processor.flush();
        await p.services.processor.replay();
        expect(await p.services.outbox.depth()).toBe(0);
      }, 20_000);
      for (const u of users) expect(await p.store.load(u)).toHaveLength(1);
    } finally {
      fx.openai.setLatency(0);
      await p.close();
    }
  });

  it('forgets a caller’s queued turns when they ask to be forgotten', async () => {
    const p = await fx.process();
    const user = fx.user();
    fakeTimeouts(); // the batch delay does not run out while the caller asks
    try {
      p.services.processor.enqueue(turn(user, 'My name is Noor.'));
      await p.services.processor.settled();
      await p.services.processor.forget(user);
      await p.services.processor.flush();
      expect(await p.store.load(user)).toHaveLength(0);
      expect(await p.services.outbox.depth()).toBe(0);
    } finally {
      vi.useRealTimers();
      await p.close();
    }
  });
});
