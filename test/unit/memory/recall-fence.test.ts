/**
 * The forget fence reaches a live call's recall: a forgotten fact leaves the call's index when
 * the caller asks, and neither a save that was in flight then nor an extraction heard before it
 * brings it back. The processor as production builds it (fake store and extractor, a real outbox
 * in a temp folder, production defaults, fake timeouts), wired to a `LiveRecall` as
 * memory-services.ts wires it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Outbox } from '../../../src/memory/outbox/outbox.js';
import { PROCESSOR_DEFAULTS } from '../../../src/memory/processor/processor-options.js';
import { MemoryProcessor } from '../../../src/memory/processor/processor.js';
import { LiveRecall } from '../../../src/memory/recall/live-recall.js';
import type { MemoryInput, SaveResult } from '../../../src/store/memory-store.js';
import { advanceUntil, fakeTimeouts } from '../../memory/support/fake-time.js';
import { FakeExtractor, FakeStore, fact } from './support/fake-memory.js';

let dir: string;
let outbox: Outbox | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recall-fence-'));
  fakeTimeouts();
});
afterEach(async () => {
  vi.useRealTimers();
  outbox?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A store whose saves wait until `release()`: a save still in flight when the caller forgets. */
class GatedStore extends FakeStore {
  #open: () => void = () => undefined;
  readonly #gate = new Promise<void>((resolve) => (this.#open = resolve));
  started = 0;

  release(): void {
    this.#open();
  }

  override async save(userId: string, items: readonly MemoryInput[], batchId: string) {
    this.started++;
    await this.#gate;
    return super.save(userId, items, batchId);
  }
}

/** A store where another process's forget covers some keys: it drops them from a save. */
class FencedElsewhereStore extends FakeStore {
  constructor(readonly forgottenKeys: readonly string[]) {
    super();
  }

  override async save(userId: string, items: readonly MemoryInput[], batchId: string) {
    const kept = items.filter((i) => !this.forgottenKeys.includes(i.key));
    return super.save(userId, kept, batchId);
  }
}

function build(store: FakeStore, extractor = new FakeExtractor()) {
  outbox = new Outbox(dir);
  const recall = new LiveRecall();
  const stored: MemoryInput[][] = [];
  const processor = new MemoryProcessor({
    store,
    extractor,
    outbox,
    onStored: (userId: string, _result: SaveResult, items: readonly MemoryInput[]) => {
      stored.push([...items]);
      recall.stored(userId, items);
    },
    onForgotten: (userId, keys) => recall.forgotten(userId, keys),
  });
  return { processor, recall, stored };
}

const color = (value: string): MemoryInput => ({
  category: 'preference',
  key: 'color',
  value,
  confidence: 1,
  source: 'explicit',
});

describe('forget reaches the live call', () => {
  it('a fact loaded at session start leaves the call index as the forget is fenced', async () => {
    const { processor, recall } = build(new FakeStore());
    const at = new Date();
    const call = recall.open('maya', [{ ...color('green'), createdAt: at, updatedAt: at }]);
    expect(call.index.search('green', 5)).toHaveLength(1);
    await processor.forget('maya', ['color']);
    expect(call.index.search('green', 5)).toEqual([]);
    call.close();
  });

  it('a save in flight when the caller forgets does not bring the fact back to the call', async () => {
    const store = new GatedStore();
    const { processor, recall, stored } = build(store);
    const call = recall.open('maya', []);

    const saving = processor.saveNow('maya', [color('green')]);
    await advanceUntil(() => expect(store.started).toBe(1), 5_000);
    await processor.forget('maya', ['color']);
    // The store wrote the row before the forget reached it (the forget then deletes it).
    store.release();
    expect((await saving).status).toBe('stored');

    expect(call.index.search('color green', 5)).toEqual([]);
    expect(stored).toEqual([[]]);
    call.close();
  });

  it('an extraction heard before the forget and answered after it never reaches the call', async () => {
    const store = new FakeStore();
    const { processor, recall } = build(store, new FakeExtractor([5_000]));
    const call = recall.open('maya', []);
    for (let i = 0; i < PROCESSOR_DEFAULTS.batchSize; i++) {
      processor.enqueue({
        userId: 'maya',
        userText: i === 0 ? fact('color', 'green') : `small talk ${i}`,
        assistantText: 'Noted.',
      });
    }
    await processor.settled();
    await processor.forget('maya', ['color']);
    await advanceUntil(() => expect(processor.stats().fenced).toBeGreaterThan(0), 30_000);

    expect(call.index.search('green', 5)).toEqual([]);
    expect(store.valueOf('maya', 'color')).toBeUndefined();
    // Another fact stored after the forget does reach the call: the fence holds back only that key.
    await processor.saveNow('maya', [{ ...color('a cat named Miso'), key: 'pet' }]);
    expect(call.index.search('cat', 5).map((m) => m.key)).toEqual(['pet']);
    call.close();
  });

  it("a key the store refused for another process's forget never reaches the call", async () => {
    const store = new FencedElsewhereStore(['color']);
    const { processor, recall, stored } = build(store);
    const call = recall.open('maya', []);
    const pet = { ...color('a cat named Miso'), key: 'pet' };
    expect((await processor.saveNow('maya', [color('green'), pet])).status).toBe('stored');
    expect(store.valueOf('maya', 'pet')).toBe('a cat named Miso');
    // Which item the store dropped it does not say: the batch stays out of the call.
    expect(call.index.search('green', 5)).toEqual([]);
    expect(stored).toEqual([]);
    // A batch the store took whole reaches it.
    await processor.saveNow('maya', [{ ...pet, key: 'pet_food', value: 'Miso eats tuna' }]);
    expect(call.index.search('tuna', 5).map((m) => m.key)).toEqual(['pet_food']);
    call.close();
  });
});
