/**
 * What a process takes over from the outbox is bounded like what it makes itself, and entries a
 * process leaves behind while this one runs are found without waiting for the next process.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Outbox, type PendingBatch, type Turn } from '../../src/memory/outbox/outbox.js';
import { eventually } from '../support/eventually.js';
import { type MemoryFixture, startMemoryFixture } from '../support/memory-fixture.js';

const turn = (userId: string, userText: string): Turn => ({
  id: randomUUID(),
  userId,
  userText,
  assistantText: 'Noted.',
  at: new Date().toISOString(),
});

const batch = (userId: string, turnIds: string[] = []): PendingBatch => ({
  id: randomUUID(),
  userId,
  turnIds,
  items: [{ category: 'fact', key: 'k', value: 'A fact', confidence: 1, source: 'extraction' }],
  heardAt: new Date().toISOString(),
});

describe('claiming orphans within bounds', () => {
  it('takes no more batches than asked, and no turn while a batch is left on disk', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'outbox-adoption-'));
    try {
      const dead = new Outbox(dir);
      const stored = turn('ada', 'My name is Ada.');
      await dead.addTurn(stored);
      for (let i = 0; i < 3; i++) await dead.addBatch(batch('ada'));
      dead.close(); // its lease goes: everything it held is an orphan now

      const next = new Outbox(dir);
      try {
        const first = await next.claimOrphans({ maxBatches: 2 });
        expect(first.map((e) => e.kind)).toEqual(['batch', 'batch']);
        const rest = await next.claimOrphans({ maxBatches: 2 });
        expect(rest.map((e) => e.kind)).toEqual(['batch', 'turn']);
        expect(await next.claimOrphans()).toEqual([]);
      } finally {
        next.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a process that runs on', () => {
  let fx: MemoryFixture;
  beforeAll(async () => {
    fx = await startMemoryFixture();
  });
  afterAll(() => fx?.stop());

  it('adopts what another process left behind a lease TTL later, without a new process', async () => {
    const user = fx.user();
    const survivor = await fx.process();
    const dying = await fx.process();
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      expect(await survivor.services.processor.replay()).toBe(0); // nothing yet: it starts looking
      dying.services.processor.enqueue({
        userId: user,
        userText: 'My name is Orla.',
        assistantText: 'Hello Orla.',
      });
      await dying.services.processor.settled();
      await dying.close(); // gone before its batch delay ran out: the turn is on disk, orphaned

      expect(survivor.services.processor.stats().turnsProcessed).toBe(0);
      await vi.advanceTimersByTimeAsync(30_000); // one lease TTL
      await eventually(async () => expect(await survivor.store.load(user)).toHaveLength(1));
      expect(survivor.services.processor.stats().turnsProcessed).toBe(1);
    } finally {
      vi.useRealTimers();
      await survivor.close();
    }
  });
});
