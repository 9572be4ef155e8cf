/**
 * Poison ahead of a valid caller, through a job process's services built as production builds
 * them (real Postgres, the local OpenAI stand-in): the replay resolves, the valid caller's
 * memories are stored once, nothing is retried, and the poison ends in `outbox/dead-letter`.
 */
import { randomUUID } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Outbox, type PendingBatch, type Turn } from '../../src/memory/outbox/outbox.js';
import { type MemoryFixture, startMemoryFixture } from '../support/memory-fixture.js';

let fx: MemoryFixture;
beforeAll(async () => {
  fx = await startMemoryFixture();
});
afterAll(async () => {
  await fx?.stop();
});

describe('replay with poison in the outbox', () => {
  it('a wrong-shape batch, a zero-byte turn and garbage never hold up a valid caller', async () => {
    const dir = join(fx.dataDir, 'outbox');
    const user = fx.user('valid');
    // What a dead process left for this caller: a batch not yet stored, a turn not yet extracted.
    const batch: PendingBatch = {
      id: randomUUID(),
      userId: user,
      turnIds: [],
      items: [
        {
          category: 'preference',
          key: 'favorite_color',
          value: 'Likes teal',
          confidence: 0.9,
          source: 'extraction',
        },
      ],
      heardAt: new Date().toISOString(),
    };
    const turn: Turn = {
      id: randomUUID(),
      userId: user,
      userText: 'My name is Kai.',
      assistantText: 'Hello Kai.',
      at: new Date().toISOString(),
    };
    const dead = new Outbox(dir);
    await dead.addBatch(batch);
    await dead.addTurn(turn);
    dead.close();
    // Poison, ahead of it in no particular order: before, it was retried as a store outage.
    const poison = [
      `batch-${randomUUID()}.json`,
      `turn-${randomUUID()}.json`,
      `batch-${randomUUID()}.json`,
    ];
    await writeFile(
      join(dir, poison[0]!),
      JSON.stringify({ id: poison[0]!.slice(6, -5), userId: user, items: 'many' }),
    );
    await writeFile(join(dir, poison[1]!), '');
    await writeFile(join(dir, poison[2]!), Buffer.from([0xff, 0xfe, 0x00, 0x7b]));

    const p = await fx.process();
    try {
      const replayed = await Promise.race([
        p.services.processor.replay(),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('replay hung')), 15_000),
        ),
      ]);
      expect(replayed).toBe(2);
      const stored = await p.store.load(user);
      expect(stored.map((m) => m.key).sort()).toEqual(['favorite_color', 'name']);
      expect(p.store.calls.save).toBe(2);
      expect(p.services.processor.stats()).toMatchObject({ retried: 0 });
      expect(p.services.outbox.stats()).toMatchObject({ poisoned: 3, adopted: 2 });
      expect(
        (await readdir(join(dir, 'dead-letter'))).filter((f) => !f.endsWith('.reason.json')).sort(),
      ).toEqual([...poison].sort());
      expect(await p.services.processor.drain(5_000)).toMatchObject({ drained: true, left: 0 });
      expect(await p.services.outbox.depth()).toBe(0);
    } finally {
      await p.close();
    }
  }, 60_000);
});
