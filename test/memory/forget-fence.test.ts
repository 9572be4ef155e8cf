/**
 * Forgetting is a fence: nothing heard before a forget is stored after it, whether its
 * extraction was already running in this process, or another process replays it from the outbox
 * later. Real parts: the fixture's job processes, the local OpenAI server (its answer held while
 * the caller forgets), the real Postgres store.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PendingBatch, Turn } from '../../src/memory/outbox/outbox.js';
import {
  type SerialExtraction,
  serialExtraction,
} from '../reliability/support/serial-extraction.js';
import { textCall, toolOutputs } from '../reliability/support/text-call.js';
import { type MemoryFixture, eventually, startMemoryFixture } from '../support/memory-fixture.js';

let fx: MemoryFixture;
let serial: SerialExtraction;
beforeAll(async () => {
  fx = await startMemoryFixture();
});
afterEach(() => {
  serial?.release();
  fx.openai.onChat();
});
afterAll(async () => fx?.stop());

const keysOf = async (p: { store: { load(u: string): Promise<{ key: string }[]> } }, u: string) =>
  (await p.store.load(u)).map((m) => m.key).sort();

describe('a forget while the extraction is in flight', () => {
  it('"forget everything": the fact being extracted never comes back', async () => {
    serial = serialExtraction();
    fx.openai.onChat(serial.handler);
    const p = await fx.process();
    const user = fx.user('hana');
    try {
      const call = await textCall(p, user);
      serial.hold();
      await call.say('My name is Hana.');
      const extracting = p.services.processor.flush();
      await eventually(() => expect(serial.waiting).toBe(1));

      const [forgot] = toolOutputs(await call.say('Please forget everything about me.'));
      expect(forgot).toEqual({
        text: 'Done: I have forgotten everything I knew about you.',
        isError: false,
      });
      serial.release();
      await extracting;

      expect(await keysOf(p, user)).toEqual([]);
      // The batch in flight, and the "forget" turn itself (heard as the caller forgot).
      expect(p.services.processor.stats()).toMatchObject({ fenced: 2, batchesStored: 0 });
      await call.hangUp();
      expect(await keysOf(p, user)).toEqual([]);
      expect(await p.services.outbox.depth()).toBe(0);
    } finally {
      await p.close();
    }
  });

  it('"forget" of one key: that fact never comes back, the rest of the batch is stored', async () => {
    serial = serialExtraction();
    fx.openai.onChat(serial.handler);
    const p = await fx.process();
    const user = fx.user('ines');
    try {
      const call = await textCall(p, user);
      serial.hold();
      await call.say('My name is Ines.');
      await call.say('I like green tea.');
      const extracting = p.services.processor.flush();
      await eventually(() => expect(serial.waiting).toBe(1));

      const [forgot] = toolOutputs(await call.say('Forget my favorite green tea.'));
      expect(forgot?.isError).toBe(false);
      serial.release();
      await extracting;

      expect(await keysOf(p, user)).toEqual(['name']);
      await call.hangUp();
      expect(await keysOf(p, user)).toEqual(['name']);
      expect(await p.services.outbox.depth()).toBe(0);
    } finally {
      await p.close();
    }
  });
});

describe('a forget, then another process replaying the outbox', () => {
  it('turns and batches heard before the forget are fenced out by the store', async () => {
    const user = fx.user('ivo');
    // A process that heard the caller (a turn not yet extracted, a batch not yet stored), then
    // died: its outbox is closed, its entries are orphans.
    const first = await fx.process();
    const heard = new Date().toISOString();
    const turn: Turn = {
      id: randomUUID(),
      userId: user,
      userText: 'My name is Ivo.',
      assistantText: 'Nice to meet you.',
      at: heard,
    };
    const batch: PendingBatch = {
      id: randomUUID(),
      userId: user,
      turnIds: [],
      items: [
        {
          category: 'preference',
          key: 'favorite_color',
          value: 'Favorite color is red',
          confidence: 1,
          source: 'explicit',
        },
      ],
      heardAt: heard,
    };
    await first.services.outbox.addTurn(turn);
    await first.services.outbox.addBatch(batch);
    await first.close();

    // The caller asks another process to forget everything.
    const second = await fx.process();
    try {
      const call = await textCall(second, user);
      const [forgot] = toolOutputs(await call.say('Please forget everything about me.'));
      expect(forgot?.isError).toBe(false);
      await call.hangUp();
    } finally {
      await second.close();
    }

    // A third process replays what the first left: the extraction runs, the store refuses.
    const third = await fx.process();
    try {
      const extractions = fx.openai.chatCalls;
      expect(await third.services.processor.replay()).toBe(2);
      await third.services.processor.flush();
      expect(fx.openai.chatCalls).toBeGreaterThan(extractions);
      expect(await keysOf(third, user)).toEqual([]);
      expect(third.services.processor.stats()).toMatchObject({ fenced: 2, batchesStored: 0 });
      expect(await third.services.outbox.depth()).toBe(0);
    } finally {
      await third.close();
    }
  });

  it('what the caller says after the forget is stored as usual', async () => {
    const p = await fx.process();
    const user = fx.user('jo');
    try {
      const call = await textCall(p, user);
      await call.say('Please forget everything about me.');
      // Past the store's margin for clock skew between hosts (1 s).
      await new Promise((r) => setTimeout(r, 1_100));
      await call.say('My name is Jo.');
      await call.hangUp();
      expect(await keysOf(p, user)).toEqual(['name']);
    } finally {
      await p.close();
    }
  });
});
