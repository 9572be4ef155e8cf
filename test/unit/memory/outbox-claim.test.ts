/**
 * Taking one outbox file (`claimEntry`): the rename decides who owns it when claimers race, and
 * nothing in the file is trusted until its size, kind, id and shape are checked. A temp folder
 * and the claim function alone: no outbox, no lease, no timers.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ClaimOutcome, claimEntry } from '../../../src/memory/outbox/outbox-claim.js';
import {
  MAX_ENTRY_BYTES,
  type PendingBatch,
  type Turn,
} from '../../../src/memory/outbox/outbox.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outbox-claim-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const turn: Turn = {
  id: 't1',
  userId: 'caller',
  userText: 'My secret is 1234.',
  assistantText: 'Noted.',
  at: new Date(0).toISOString(),
};
const batch: PendingBatch = {
  id: 'b1',
  userId: 'caller',
  turnIds: ['t1'],
  items: [{ category: 'fact', key: 'secret', value: '1234', confidence: 1, source: 'explicit' }],
  heardAt: new Date(0).toISOString(),
};

/** Writes `text` as `<kind>-<id>.json` and has `owner` claim it. */
async function claim(
  kind: 'turn' | 'batch',
  id: string,
  text: string,
  owner = 'me',
): Promise<ClaimOutcome> {
  const file = `${kind}-${id}.json`;
  await writeFile(join(dir, file), text);
  return claimEntry(dir, file, `${file}.${owner}.claim`, kind, id, MAX_ENTRY_BYTES);
}

const poisonOf = (outcome: ClaimOutcome) => ('poison' in outcome ? outcome.poison : undefined);

describe('claiming an outbox file', () => {
  it('two claimers race for one file: exactly one gets the entry, the other finds it gone', async () => {
    for (let round = 0; round < 20; round++) {
      const id = `t${round}`;
      const file = `turn-${id}.json`;
      await writeFile(join(dir, file), JSON.stringify({ ...turn, id }));
      const outcomes = await Promise.all(
        ['a', 'b'].map((owner) =>
          claimEntry(dir, file, `${file}.${owner}.claim`, 'turn', id, MAX_ENTRY_BYTES),
        ),
      );
      expect(outcomes.filter((o) => 'entry' in o)).toHaveLength(1);
      expect(outcomes.filter((o) => 'gone' in o)).toHaveLength(1);
      const left = (await readdir(dir)).filter((f) => f.startsWith(`${file}.`));
      expect(left).toHaveLength(1); // one claim file, under the winner's name
    }
  });

  it('hands on a well-formed turn and batch, renamed to the claim', async () => {
    expect(await claim('turn', 't1', JSON.stringify(turn))).toEqual({
      entry: { kind: 'turn', turn },
    });
    expect(await claim('batch', 'b1', JSON.stringify(batch))).toEqual({
      entry: { kind: 'batch', batch },
    });
    expect((await readdir(dir)).sort()).toEqual([
      'batch-b1.json.me.claim',
      'turn-t1.json.me.claim',
    ]);
  });

  it('a file already taken is gone, not poison', async () => {
    const outcome = await claimEntry(
      dir,
      'turn-t9.json',
      'turn-t9.json.me.claim',
      'turn',
      't9',
      MAX_ENTRY_BYTES,
    );
    expect(outcome).toEqual({ gone: true });
  });

  it('a file over the size limit is poison, named with its size, never parsed', async () => {
    const huge = JSON.stringify({ ...turn, userText: 'x'.repeat(MAX_ENTRY_BYTES) });
    expect(poisonOf(await claim('turn', 't1', huge))).toMatch(/^too large \(\d+ bytes/);
  });

  it('a folder under an entry’s name is poison, never opened', async () => {
    await mkdir(join(dir, 'turn-t1.json'));
    const outcome = await claimEntry(
      dir,
      'turn-t1.json',
      'turn-t1.json.me.claim',
      'turn',
      't1',
      MAX_ENTRY_BYTES,
    );
    expect(poisonOf(outcome)).toBe('not a regular file');
  });

  it.each([
    ['empty', '', /^empty file$/],
    ['cut short', JSON.stringify(turn).slice(0, 20), /^not valid JSON/],
    [
      'a batch under a turn’s name',
      JSON.stringify({ ...batch, id: 't1' }),
      /wrong shape for a turn/,
    ],
    ['a turn without its text', JSON.stringify({ ...turn, userText: undefined }), /userText/],
    ['another id than its name', JSON.stringify({ ...turn, id: 't2' }), /another id/],
  ])('%s: poison, with a reason that quotes none of the text', async (_, text, reason) => {
    const why = poisonOf(await claim('turn', 't1', text));
    expect(why).toMatch(reason);
    expect(why).not.toContain('1234');
  });

  it('a batch item of an unknown category is poison', async () => {
    const bad = { ...batch, items: [{ ...batch.items[0], category: 'gossip' }] };
    expect(poisonOf(await claim('batch', 'b1', JSON.stringify(bad)))).toMatch(
      /wrong shape for a batch: items\.0\.category/,
    );
  });
});
