/**
 * "Remember that …" through the tool as production builds it (a text call on the fixture's job
 * process, the real Postgres store): the caller is told what really happened, and never that a
 * fact is saved when the store did not take it.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { textCall, toolOutputs } from '../reliability/support/text-call.js';
import {
  type MemoryFixture,
  type ProcessUnderTest,
  eventually,
  startMemoryFixture,
} from '../support/memory-fixture.js';

let fx: MemoryFixture;
const dataDirs: string[] = [];
let sql: postgres.Sql;
beforeAll(async () => {
  fx = await startMemoryFixture();
  sql = postgres(fx.postgresUrl, { max: 1, onnotice: () => undefined });
});
afterAll(async () => {
  await sql?.end();
  await fx?.stop();
  await Promise.all(dataDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

const values = async (p: { store: { load(u: string): Promise<{ value: string }[]> } }, u: string) =>
  (await p.store.load(u)).map((m) => m.value);

/**
 * A process of its own outbox: what another test's process left there (turns it never
 * extracted) must not count here.
 */
async function isolatedProcess(): Promise<ProcessUnderTest> {
  const dataDir = await mkdtemp(join(tmpdir(), 'remember-outcome-'));
  dataDirs.push(dataDir);
  return fx.process({ MEMORY_DATA_DIR: dataDir });
}

/** Batch files in a folder of the outbox (none before it is first made). */
async function batchFiles(p: ProcessUnderTest, folder = ''): Promise<number> {
  const files = await readdir(join(p.config.dataDir, 'outbox', folder)).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  });
  return files.filter((f) => /^batch-[\w-]+\.json(\.[\w-]+\.claim)?$/.test(f)).length;
}

describe('rememberFact tells the caller what really happened', () => {
  it('refused by the store: not "saved", set aside in the dead-letter folder, the call goes on', async () => {
    // A real refusal: Postgres rejects the row with a CHECK violation (23514) on every try.
    await sql`alter table public.memories add constraint refuse_test_marker
                check (value not like '%Refusedhue%')`;
    const p = await isolatedProcess();
    const user = fx.user('rhea');
    try {
      const call = await textCall(p, user);
      const [answer] = toolOutputs(
        await call.say('Remember that my favorite color is Refusedhue.'),
      );
      expect(answer).toEqual({
        text: 'I could not save that: my memory would not accept it.',
        isError: true,
      });
      expect(await values(p, user)).toEqual([]);
      expect(p.services.processor.stats()).toMatchObject({ deadLettered: 1, batchesStored: 0 });
      expect(await batchFiles(p, 'dead-letter')).toBe(1);
      // Nothing of it is left to store (the turn itself may still wait for its extraction).
      expect(await batchFiles(p)).toBe(0);
      // The next fact is saved, and said to be.
      const [next] = toolOutputs(await call.say('Remember that my favorite color is green.'));
      expect(next).toEqual({ text: 'Saved: Favorite color is green.', isError: false });
      expect(await values(p, user)).toEqual(['Favorite color is green']);
      await call.hangUp();
    } finally {
      await sql`alter table public.memories drop constraint if exists refuse_test_marker`;
      await p.close();
    }
  });

  it('the store is down: "noted" and kept in the outbox, then stored once the store is back', async () => {
    const p = await isolatedProcess();
    const user = fx.user('otto');
    try {
      const call = await textCall(p, user);
      p.store.down = true;
      const [answer] = toolOutputs(await call.say('Remember that my favorite color is amber.'));
      expect(answer?.isError).toBe(false);
      expect(answer?.text).toMatch(/^Noted: Favorite color is amber\. My memory is out of reach/);
      expect(answer?.text).not.toMatch(/saved:/i);
      expect(await batchFiles(p)).toBe(1);
      p.store.down = false;
      await eventually(
        async () => expect(await values(p, user)).toEqual(['Favorite color is amber']),
        20_000,
      );
      await call.hangUp();
    } finally {
      p.store.down = false;
      await p.close();
    }
  });

  it('the store is slower than the tool’s deadline: "still saving", never "saved"', async () => {
    const p = await isolatedProcess();
    const user = fx.user('sia');
    try {
      const call = await textCall(p, user);
      // Slower than the tool's deadline (2 × MEMORY_LOAD_TIMEOUT_MS, production default: 2 s).
      p.store.delayMs = 2 * p.config.memory.loadTimeoutMs + 1_000;
      const [answer] = toolOutputs(await call.say('Remember that my favorite color is slate.'));
      expect(answer).toEqual({
        text: 'I am still saving that: my memory is slow to answer right now. Ask me again in a moment and I will tell you whether I kept it.',
        isError: false,
      });
      p.store.delayMs = 0;
      await eventually(async () =>
        expect(await values(p, user)).toEqual(['Favorite color is slate']),
      );
      await call.hangUp();
    } finally {
      p.store.delayMs = 0;
      await p.close();
    }
  });

  it('said as the store records a forget of everything: not "saved", nothing stored', async () => {
    const p = await isolatedProcess();
    const user = fx.user('fern');
    try {
      const call = await textCall(p, user);
      // A forget the store holds from a database clock ahead of this host's: the fact is heard
      // before it, so the store's fence refuses it.
      await sql`insert into public.memory_forgets (user_id, key, forgotten_at)
                values (${user}, '', now() + interval '1 minute')`;
      const [answer] = toolOutputs(await call.say('Remember that my favorite color is plum.'));
      expect(answer).toEqual({
        text: 'I did not save that: it came right as you asked me to forget. Please tell me again in a moment.',
        isError: true,
      });
      expect(await values(p, user)).toEqual([]);
      expect(p.services.processor.stats()).toMatchObject({ fenced: 1, batchesStored: 0 });
      await call.hangUp();
      expect(await values(p, user)).toEqual([]);
      expect(await p.services.outbox.depth()).toBe(0);
    } finally {
      await p.close();
    }
  });
});
