/**
 * Poison in the outbox: every kind of file a crash, a full disk or a stranger can leave there.
 * Each must end in `dead-letter/` with its reason (bytes kept), be logged once and counted, and
 * never reach the processor or be read again, while the valid caller's entries are claimed.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../../src/lib/logger.js';
import { Outbox, type PendingBatch, type Turn } from '../../../src/memory/outbox/outbox.js';

/** What a caller said: it must never appear in a log line or a reason. */
const CALLER_TEXT = 'my-private-words-7c1e';

let dir: string;
const outboxes: Outbox[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outbox-poison-'));
});
afterEach(async () => {
  outboxes.splice(0).forEach((o) => o.close());
  await rm(dir, { recursive: true, force: true });
});

function open(): { outbox: Outbox; warnings: Record<string, unknown>[]; infos: string[] } {
  const warnings: Record<string, unknown>[] = [];
  const infos: string[] = [];
  const logger = {
    warn: (fields: Record<string, unknown>, msg: string) => warnings.push({ ...fields, msg }),
    info: (fields: Record<string, unknown>, msg: string) =>
      infos.push(`${msg} ${JSON.stringify(fields)}`),
    child: () => logger,
  } as unknown as Logger;
  const outbox = new Outbox(dir, { logger });
  outboxes.push(outbox);
  return { outbox, warnings, infos };
}

const turn = (userId = 'valid-caller'): Turn => ({
  id: randomUUID(),
  userId,
  userText: `My name is Ada. ${CALLER_TEXT}`,
  assistantText: 'Nice to meet you.',
  at: new Date().toISOString(),
});

const batch = (): PendingBatch => ({
  id: randomUUID(),
  userId: 'valid-caller',
  turnIds: [],
  items: [
    { category: 'identity', key: 'name', value: 'Ada', confidence: 0.9, source: 'extraction' },
  ],
  heardAt: new Date().toISOString(),
});

/** The valid caller's entries, left unclaimed by a process that could not take them. */
async function validEntries(): Promise<{ turns: Turn[]; batch: PendingBatch }> {
  const writer = new Outbox(dir);
  const turns = [turn(), turn()];
  for (const t of turns) await writer.addTurn(t, { claim: false });
  const b = batch();
  await writer.addBatch(b);
  writer.close(); // gone: its batch claim is an orphan
  return { turns, batch: b };
}

const wrongShapeBatch = (id: string) =>
  JSON.stringify({
    id,
    userId: 'poisoner',
    turnIds: [],
    items: [
      { category: 'gossip', key: 'k', value: CALLER_TEXT, confidence: 7, source: 'extraction' },
    ],
    heardAt: new Date().toISOString(),
  });

const POISON: {
  kind: string;
  file: (id: string) => string;
  bytes: (id: string) => Buffer;
  reason: RegExp;
}[] = [
  {
    kind: 'zero-byte turn',
    file: (id) => `turn-${id}.json`,
    bytes: () => Buffer.alloc(0),
    reason: /^empty file$/,
  },
  {
    kind: 'truncated batch',
    file: (id) => `batch-${id}.json`,
    bytes: (id) => Buffer.from(wrongShapeBatch(id).slice(0, 60)),
    reason: /^not valid JSON/,
  },
  {
    kind: 'garbage bytes',
    file: (id) => `turn-${id}.json`,
    bytes: () => Buffer.concat([randomBytes(300), Buffer.from(CALLER_TEXT)]),
    reason: /^not valid JSON/,
  },
  {
    kind: 'wrong-shape batch',
    file: (id) => `batch-${id}.json`,
    bytes: (id) => Buffer.from(wrongShapeBatch(id)),
    reason: /^wrong shape for a batch: items\.0\.category: .*; items\.0\.confidence: /,
  },
  {
    kind: 'wrong-shape turn',
    file: (id) => `turn-${id}.json`,
    bytes: (id) =>
      Buffer.from(JSON.stringify({ id, userId: 42, userText: CALLER_TEXT, at: 'yesterday' })),
    reason: /^wrong shape for a turn: userId: .*; assistantText: /,
  },
  {
    kind: 'turn whose id is not its file name',
    file: (id) => `turn-${id}.json`,
    bytes: () => Buffer.from(JSON.stringify({ ...turn('poisoner'), id: 'another-id' })),
    reason: /another id than its file name/,
  },
  {
    kind: 'huge turn (2 MiB)',
    file: (id) => `turn-${id}.json`,
    bytes: (id) =>
      Buffer.from(JSON.stringify({ ...turn('poisoner'), id, userText: 'x'.repeat(2 << 20) })),
    reason: /^too large \(\d+ bytes; the limit is 1048576\)$/,
  },
  {
    kind: 'claim of a dead owner holding garbage',
    file: (id) => `batch-${id}.json.${randomUUID()}.claim`,
    bytes: () => Buffer.from('{"id": [[[['),
    reason: /^not valid JSON/,
  },
];

describe('a poison file in the outbox', () => {
  it.each(POISON)(
    '$kind: set aside with its reason, logged once, counted, never read again',
    async (poison) => {
      const valid = await validEntries();
      const id = randomUUID();
      const file = poison.file(id);
      const name = file.replace(/\.[\w-]+\.claim$/, '');
      const bytes = poison.bytes(id);
      await writeFile(join(dir, file), bytes);

      const { outbox, warnings } = open();
      const entries = await outbox.claimOrphans();

      // The valid caller's entries, and only well-formed ones, reach the processor.
      expect(entries.filter((e) => e.kind === 'batch').map((e) => e.batch)).toEqual([valid.batch]);
      expect(
        entries
          .filter((e) => e.kind === 'turn')
          .map((e) => e.turn.id)
          .sort(),
      ).toEqual(valid.turns.map((t) => t.id).sort());
      expect(entries).toHaveLength(3);

      // In the dead-letter folder, byte for byte, with the reason beside it.
      const deadDir = join(dir, 'dead-letter');
      expect((await readFile(join(deadDir, name))).equals(bytes)).toBe(true);
      const why = JSON.parse(await readFile(join(deadDir, `${name}.reason.json`), 'utf8'));
      expect(why).toMatchObject({ origin: 'outbox', reason: expect.stringMatching(poison.reason) });
      expect(await readdir(dir)).not.toContain(file);

      // Logged once, with the file and the reason, and without the caller's words.
      const lines = warnings.filter((w) => w.file === name);
      expect(lines).toEqual([
        expect.objectContaining({ reason: why.reason, msg: expect.stringMatching(/dead-letter/) }),
      ]);
      expect(JSON.stringify(warnings)).not.toContain(CALLER_TEXT);
      expect(JSON.stringify(why)).not.toContain(CALLER_TEXT);
      expect(outbox.stats()).toMatchObject({ poisoned: 1, adopted: 3, setAsideFailures: 0 });
      expect(outbox.stats().lastPoison).toBe(`${name}: ${why.reason}`);

      // Nothing left for a processor to trip on: the depth is the valid caller's entries only.
      expect(await outbox.depth()).toBe(3);
      expect(await outbox.claimed()).toBe(3);

      // A second replay, here or in the next process, neither re-reads nor re-logs it.
      expect(await outbox.claimOrphans()).toEqual([]);
      outbox.close();
      const next = open();
      const again = await next.outbox.claimOrphans();
      expect(again).toHaveLength(3); // the valid entries, orphaned by the close
      expect(next.warnings).toEqual([]);
      expect(next.outbox.stats().poisoned).toBe(0);
      expect(warnings.filter((w) => w.file === name)).toHaveLength(1);
      expect((await readdir(deadDir)).sort()).toEqual([name, `${name}.reason.json`]);
    },
  );

  it('a folder where an entry file should be is set aside, not opened', async () => {
    const name = `turn-${randomUUID()}.json`;
    await mkdir(join(dir, name));
    const { outbox, warnings } = open();
    expect(await outbox.claimOrphans()).toEqual([]);
    expect(warnings).toEqual([
      expect.objectContaining({ file: name, reason: 'not a regular file' }),
    ]);
    expect((await stat(join(dir, 'dead-letter', name))).isDirectory()).toBe(true);
  });

  it('a batch written before heardAt existed is replayed, fenced by any forget (the epoch)', async () => {
    const { heardAt: _, ...legacy } = batch();
    await writeFile(join(dir, `batch-${legacy.id}.json`), JSON.stringify(legacy));
    const { outbox } = open();
    const [entry] = await outbox.claimOrphans();
    expect(entry).toEqual({
      kind: 'batch',
      batch: { ...legacy, heardAt: new Date(0).toISOString() },
    });
  });

  it('a name already in the dead-letter folder is never overwritten', async () => {
    const id = randomUUID();
    await mkdir(join(dir, 'dead-letter'), { recursive: true });
    await writeFile(join(dir, 'dead-letter', `turn-${id}.json`), 'earlier');
    await writeFile(join(dir, `turn-${id}.json`), 'later');
    const { outbox } = open();
    await outbox.claimOrphans();
    const files = (await readdir(join(dir, 'dead-letter'))).filter(
      (f) => !f.endsWith('.reason.json'),
    );
    const contents = await Promise.all(
      files.map((f) => readFile(join(dir, 'dead-letter', f), 'utf8')),
    );
    expect(contents.sort()).toEqual(['earlier', 'later']);
  });
});

describe('temp files of a writer killed mid-write', () => {
  it('are removed once older than the grace period, counted and logged; a young one stays', async () => {
    await mkdir(join(dir, 'dead-letter'), { recursive: true });
    const stale = [
      join(dir, `turn-${randomUUID()}.json.${randomUUID()}.tmp`),
      join(dir, 'dead-letter', `batch-${randomUUID()}.json.${randomUUID()}.tmp`),
    ];
    const young = join(dir, `turn-${randomUUID()}.json.${randomUUID()}.tmp`);
    for (const path of [...stale, young]) await writeFile(path, '{"id": "half wri');
    const tenMinutesAgo = new Date(Date.now() - 10 * 60_000);
    for (const path of stale) await utimes(path, tenMinutesAgo, tenMinutesAgo);

    const { outbox, infos } = open();
    expect(await outbox.claimOrphans()).toEqual([]);
    expect(outbox.stats().tempFilesRemoved).toBe(2);
    expect(infos.filter((l) => l.includes('temp files'))).toEqual([
      expect.stringContaining('"removed":2'),
    ]);
    for (const path of stale) await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await stat(young)).isFile()).toBe(true);

    // Not counted twice, and the young one is never taken for an entry.
    expect(await outbox.claimOrphans()).toEqual([]);
    expect(outbox.stats().tempFilesRemoved).toBe(2);
    expect(await outbox.depth()).toBe(0);
  });
});
