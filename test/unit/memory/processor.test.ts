/**
 * The memory processor's own rules, with a fake store and a fake extractor, a real outbox in a
 * temp folder, production defaults (8 turns a batch, 1.5 s batch delay, 10 s drain) and fake
 * timeouts: a later fact supersedes an earlier one, a forget is a fence, a drain keeps its word.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Outbox } from '../../../src/memory/outbox/outbox.js';
import { PROCESSOR_DEFAULTS } from '../../../src/memory/processor/processor-options.js';
import { MemoryProcessor } from '../../../src/memory/processor/processor.js';
import { advance, advanceUntil, fakeTimeouts } from '../../memory/support/fake-time.js';
import { FakeExtractor, FakeStore, fact } from './support/fake-memory.js';

/** MEMORY_DRAIN_TIMEOUT_MS's default: how long a call's end waits for its memories. */
const DRAIN_DEADLINE_MS = 10_000;
const { batchSize, batchDelayMs } = PROCESSOR_DEFAULTS;

let dir: string;
const outboxes: Outbox[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'processor-unit-'));
  fakeTimeouts();
});
afterEach(async () => {
  vi.useRealTimers();
  outboxes.splice(0).forEach((o) => o.close());
  await rm(dir, { recursive: true, force: true });
});

function build(extractor: FakeExtractor, store = new FakeStore()) {
  const outbox = new Outbox(dir);
  outboxes.push(outbox);
  const processor = new MemoryProcessor({ store, extractor, outbox });
  return { processor, store, extractor, outbox };
}

/** A full batch for one caller: the given things said first, small talk after. */
function sayBatch(processor: MemoryProcessor, userId: string, ...said: string[]): void {
  for (let i = 0; i < batchSize; i++) {
    const userText = said[i] ?? `small talk ${i}`;
    processor.enqueue({ userId, userText, assistantText: 'Noted.' });
  }
}

describe('ordering', () => {
  it('a later fact for a key supersedes an earlier one, even when its batch is answered first', async () => {
    // The first batch's answer takes 5 s, the second's none: written out of order, red would win.
    const { processor, store, extractor } = build(new FakeExtractor([5_000, 0]));
    sayBatch(processor, 'caller', fact('color', 'red'));
    sayBatch(processor, 'caller', fact('color', 'blue'));
    await processor.settled(); // on disk (real I/O) before fake time moves
    await advanceUntil(() => expect(store.saves).toHaveLength(2), 30_000);

    expect(store.saves.map((s) => s.items.map((i) => i.value))).toEqual([['red'], ['blue']]);
    expect(store.valueOf('caller', 'color')).toBe('blue');
    expect(extractor.batches.map((b) => b.length)).toEqual([batchSize, batchSize]);
  });

  it('one caller’s slow answer does not hold back another caller', async () => {
    const { processor, store } = build(new FakeExtractor([5_000, 0]));
    sayBatch(processor, 'slow', fact('color', 'red'));
    sayBatch(processor, 'quick', fact('color', 'green'));
    await processor.settled();
    // Well before the slow answer's 5 s.
    await advanceUntil(() => expect(store.saves).toHaveLength(1), 4_000);
    expect(store.saves[0]?.userId).toBe('quick');
  });
});

describe('forget', () => {
  it('drops the caller’s queued turns, from the queue and from the outbox', async () => {
    const { processor, store, extractor, outbox } = build(new FakeExtractor());
    processor.enqueue({ userId: 'caller', userText: fact('color', 'red'), assistantText: 'Ok.' });
    processor.enqueue({ userId: 'other', userText: fact('pet', 'cat'), assistantText: 'Ok.' });
    await processor.settled();
    expect(await outbox.depth()).toBe(2);

    await processor.forget('caller');
    expect(processor.queuedTurns()).toBe(1);
    expect(await outbox.depth()).toBe(1);

    await advance(batchDelayMs + 100);
    await processor.flush();
    expect(extractor.batches.flat().map((t) => t.userId)).toEqual(['other']);
    expect(store.saves.map((s) => s.userId)).toEqual(['other']);
  });

  it('an extraction in flight when the caller forgets is never stored', async () => {
    const { processor, store, extractor, outbox } = build(new FakeExtractor([5_000]));
    sayBatch(processor, 'caller', fact('color', 'red'));
    await processor.settled();
    await advanceUntil(() => expect(extractor.batches).toHaveLength(1), 4_000);

    await processor.forget('caller');
    await advance(5_000);
    await processor.flush();
    expect(store.saves).toEqual([]);
    expect(processor.stats().fenced).toBeGreaterThan(0);
    expect(await outbox.depth()).toBe(0);
  });

  it('forgetting one key keeps the rest of the batch', async () => {
    const { processor, store, extractor } = build(new FakeExtractor([5_000]));
    sayBatch(processor, 'caller', fact('color', 'red'), fact('pet', 'cat'));
    await processor.settled();
    await advanceUntil(() => expect(extractor.batches).toHaveLength(1), 4_000);

    await processor.forget('caller', ['color']);
    await advance(5_000);
    await processor.flush();
    expect(store.valueOf('caller', 'color')).toBeUndefined();
    expect(store.valueOf('caller', 'pet')).toBe('cat');
  });
});

describe('drain', () => {
  it('resolves once everything queued is stored, without waiting for the batch delay', async () => {
    const { processor, store, outbox } = build(new FakeExtractor());
    processor.enqueue({ userId: 'a', userText: fact('color', 'red'), assistantText: 'Ok.' });
    processor.enqueue({ userId: 'b', userText: fact('pet', 'cat'), assistantText: 'Ok.' });

    const report = await processor.drain(DRAIN_DEADLINE_MS);
    expect(report).toMatchObject({ drained: true, left: 0 });
    expect(store.valueOf('a', 'color')).toBe('red');
    expect(store.valueOf('b', 'pet')).toBe('cat');
    expect(await outbox.depth()).toBe(0);
    expect(() =>
      processor.enqueue({ userId: 'a', userText: 'late', assistantText: 'Ok.' }),
    ).toThrow(/closed/);
  });

  it('with a store that hangs, gives up at its deadline and leaves the batch in the outbox', async () => {
    const store = new FakeStore();
    store.hang();
    const { processor, outbox } = build(new FakeExtractor(), store);
    processor.enqueue({ userId: 'caller', userText: fact('color', 'red'), assistantText: 'Ok.' });
    processor.enqueue({ userId: 'caller', userText: fact('pet', 'cat'), assistantText: 'Ok.' });

    let report: Awaited<ReturnType<MemoryProcessor['drain']>> | undefined;
    void processor.drain(DRAIN_DEADLINE_MS).then((r) => (report = r));
    await advance(DRAIN_DEADLINE_MS - 100);
    expect(report).toBeUndefined(); // still waiting for the store
    await advanceUntil(() => expect(report).toBeDefined(), 1_000);
    expect(report).toMatchObject({ drained: false, left: 1 });

    // The next process (this one gone) finds the extracted batch on disk, both facts in it.
    outbox.close();
    const next = new Outbox(dir);
    outboxes.push(next);
    const entries = await next.claimOrphans();
    expect(entries.map((e) => e.kind)).toEqual(['batch']);
    const batch = entries[0]?.kind === 'batch' ? entries[0].batch : undefined;
    expect(batch?.items.map((i) => i.key).sort()).toEqual(['color', 'pet']);
  });
});
