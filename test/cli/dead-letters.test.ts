/**
 * The operator's way back for dead letters, run as an operator runs it: the command from source
 * in its own process, in a bare environment, from a folder with no `.env` but the test's own.
 * The dead letters are made by the product itself (poison claimed by an outbox, entries the
 * processor sets aside) plus one in the older wrapped format.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Outbox, type PendingBatch, type Turn } from '../../src/memory/outbox/outbox.js';

const CLI = fileURLToPath(new URL('../../src/cli/dead-letters.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const CALLER_TEXT = 'whispered-secret-3f9a';

let cwd: string;
let dataDir: string;
beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'dead-letters-cwd-'));
  dataDir = await mkdtemp(join(tmpdir(), 'dead-letters-data-'));
});
afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
  await rm(dataDir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  json: Record<string, unknown>;
}

function run(
  args: string[],
  env: Record<string, string> = { MEMORY_DATA_DIR: dataDir },
): Promise<Run> {
  const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const isJson = code === 0 && stdout.startsWith('{'); // not --help's text
      const json = isJson ? (JSON.parse(stdout) as Record<string, unknown>) : {};
      resolve({ code, stdout, stderr, json });
    });
  });
}

const turn = (): Turn => ({
  id: randomUUID(),
  userId: 'caller',
  userText: `My name is Ines. ${CALLER_TEXT}`,
  assistantText: 'Hello Ines.',
  at: new Date().toISOString(),
});

/** Dead letters as the product makes them, and one as the previous version wrote them. */
async function makeDeadLetters() {
  const dir = join(dataDir, 'outbox');
  const outbox = new Outbox(dir);
  const refusedTurn = turn();
  await outbox.addTurn(refusedTurn);
  await outbox.deadLetterTurns([refusedTurn.id], 'the LLM refused the request (401)');
  const refusedBatch: PendingBatch = {
    id: randomUUID(),
    userId: 'caller',
    turnIds: [],
    items: [
      { category: 'identity', key: 'name', value: 'Ines', confidence: 1, source: 'explicit' },
    ],
    heardAt: new Date().toISOString(),
  };
  await outbox.addBatch(refusedBatch);
  await outbox.deadLetterBatch(refusedBatch.id, 'memory store refused the batch (22001)');
  const garbage = `turn-${randomUUID()}.json`;
  await writeFile(join(dir, garbage), `{"userText": "${CALLER_TEXT}`);
  await outbox.claimOrphans(); // the poison goes to the dead-letter folder
  outbox.close();
  const legacyTurn = turn();
  await writeFile(
    join(dir, 'dead-letter', `turn-${legacyTurn.id}.json`),
    JSON.stringify({ reason: 'invalid JSON from the LLM', turn: legacyTurn }),
  );
  return { dir, refusedTurn, refusedBatch, legacyTurn, garbage };
}

describe('dead-letters command', () => {
  it('lists the dead letters (never what a caller said) and replays the well-formed ones', async () => {
    const made = await makeDeadLetters();

    const list = await run(['list']);
    expect(list.code).toBe(0);
    expect(list.stdout.trim().split('\n')).toHaveLength(1);
    expect(list.json).toMatchObject({
      command: 'list',
      count: 4,
      turns: 3,
      batches: 1,
      reasons: {
        'the LLM refused the request (401)': 1,
        'memory store refused the batch (22001)': 1,
        'not valid JSON (cut short or garbage)': 1,
        'invalid JSON from the LLM': 1,
      },
      oldest: expect.stringMatching(/^\d{4}-/),
      newest: expect.stringMatching(/^\d{4}-/),
    });
    expect(list.stdout + list.stderr).not.toContain(CALLER_TEXT);

    // Once the LLM key is fixed: only what it refused goes back.
    const fixedKey = await run(['replay', '--reason', '(401)']);
    expect(fixedKey.json).toMatchObject({ replayed: 1, kept: 0 });

    const all = await run(['replay']);
    expect(all.code).toBe(0);
    expect(all.stderr).toBe(
      `dead-letters: moved 2 back into ${made.dir} (the next job process replays them); ` +
        `1 kept in ${join(made.dir, 'dead-letter')}\n`,
    );
    expect(all.json).toMatchObject({
      replayed: 2,
      kept: 1,
      keptReasons: { 'not valid JSON (cut short or garbage)': 1 },
    });
    expect(all.stdout + all.stderr).not.toContain(CALLER_TEXT);

    // The next job process replays them, unclaimed, well-formed, the wrapper gone.
    const next = new Outbox(made.dir);
    const entries = await next.claimOrphans();
    next.close();
    expect(entries).toEqual(
      expect.arrayContaining([
        { kind: 'batch', batch: made.refusedBatch },
        { kind: 'turn', turn: made.refusedTurn },
        { kind: 'turn', turn: made.legacyTurn },
      ]),
    );
    expect(entries).toHaveLength(3);
    expect(next.stats().poisoned).toBe(0);

    // The malformed one stays, with its reason; replaying again changes nothing.
    expect(await readdir(join(made.dir, 'dead-letter'))).toEqual([
      made.garbage,
      `${made.garbage}.reason.json`,
    ]);
    expect((await run(['list'])).json).toMatchObject({ count: 1, turns: 1, batches: 0 });
    expect((await run(['replay'])).json).toMatchObject({ replayed: 0, kept: 1 });
  }, 60_000);

  it('leaves a dead letter whose entry is back in the outbox already', async () => {
    const dir = join(dataDir, 'outbox');
    const t = turn();
    await mkdir(join(dir, 'dead-letter'), { recursive: true });
    await writeFile(join(dir, 'dead-letter', `turn-${t.id}.json`), JSON.stringify(t));
    await writeFile(join(dir, `turn-${t.id}.json.${randomUUID()}.claim`), JSON.stringify(t));
    const replay = await run(['replay']);
    expect(replay.json).toMatchObject({
      replayed: 0,
      kept: 1,
      keptReasons: { 'already in the outbox': 1 },
    });
  }, 30_000);

  it('reads MEMORY_DATA_DIR from the .env of the folder it runs in, as the worker does', async () => {
    await makeDeadLetters();
    await writeFile(join(cwd, '.env'), `MEMORY_DATA_DIR=${dataDir}\n`);
    const list = await run(['list'], {});
    expect(list.json).toMatchObject({ count: 4, outbox: join(dataDir, 'outbox') });
  }, 30_000);

  it('an empty data folder has no dead letters', async () => {
    expect((await run(['list'])).json).toMatchObject({ count: 0, reasons: {} });
    expect((await run(['replay'])).json).toMatchObject({ replayed: 0, kept: 0 });
  }, 30_000);

  it('bad configuration: one line naming the variable, exit 1, no stack', async () => {
    const bad = await run(['list'], { MEMORY_DATA_DIR: dataDir, MEMORY_STORE_CONNECTIONS: 'lots' });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    const lines = bad.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^dead-letters: .*MEMORY_STORE_CONNECTIONS/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);

  it('a wrong command: what is wrong, then the usage, exit 2, nothing read', async () => {
    const mistakes: [string[], string][] = [
      [[], 'say what to do: list or replay'],
      [['purge'], 'unknown command: purge'],
      [['list', '--reason', 'x'], '--reason goes with replay, not list'],
      [['replay', '--force'], "Unknown option '--force'"],
    ];
    for (const [args, why] of mistakes) {
      const wrong = await run(args, { MEMORY_DATA_DIR: dataDir, MEMORY_STORE_CONNECTIONS: 'lots' });
      expect(wrong.code).toBe(2);
      expect(wrong.stdout).toBe('');
      const [first, usage, more] = wrong.stderr.split('\n');
      expect(first).toBe(`dead-letters: ${why}`);
      expect(usage).toBe('usage: npm run dead-letters -- list | replay [--reason <text>]');
      expect(more).toBe('(--help for more)');
    }
  }, 30_000);

  it('--help: the usage, both commands and the option, exit 0', async () => {
    for (const args of [['--help'], ['replay', '--bogus', '-h']]) {
      const help = await run(args, {});
      expect(help.code).toBe(0);
      expect(help.stderr).toBe('');
      expect(help.stdout).toMatch(/^usage: npm run dead-letters -- list \| replay/);
      for (const word of ['  list ', '  replay ', '--reason <text>', 'MEMORY_DATA_DIR']) {
        expect(help.stdout).toContain(word);
      }
    }
  }, 30_000);
});
