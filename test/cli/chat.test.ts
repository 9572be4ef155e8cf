/**
 * `npm run chat` as a user runs it: the command from source in its own process, in a bare
 * environment, from a fresh folder (never the checkout: no `.env`, no `./data` of the user's),
 * against the local OpenAI server, with the embedded PostgreSQL the chat starts itself. Two chats
 * in a row as the same caller: the second is greeted by name and recalls the first.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NEW_CALLER_GREETING } from '../../src/greeting/greeting-text.js';
import { type ChatRequestBody, textOf } from '../support/openai-chat-responder.js';
import { type OpenAIServer, startOpenAIServer } from '../support/openai-server.js';

const CHAT = fileURLToPath(new URL('../../src/cli/chat.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const RUN_TIMEOUT_MS = 25_000;

let server: OpenAIServer;
let cwd: string;
let dataDir: string;
beforeAll(async () => {
  server = await startOpenAIServer();
  cwd = await mkdtemp(join(tmpdir(), 'chat-cwd-'));
  dataDir = await mkdtemp(join(tmpdir(), 'chat-data-'));
});
afterAll(async () => {
  await server?.close();
  await rm(cwd, { recursive: true, force: true });
  await rm(dataDir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * One chat: the lines typed, then the end of input, unless `keepInputOpen` (the chat must then
 * end by itself, e.g. on `/bye`). Killed and reported if it runs past its deadline.
 */
function chat(
  args: string[],
  lines: string[] = [],
  options: { env?: Record<string, string>; keepInputOpen?: boolean } = {},
): Promise<Run> {
  const env = options.env ?? {
    OPENAI_API_KEY: 'test-key',
    OPENAI_BASE_URL: server.baseURL,
    MEMORY_DATA_DIR: dataDir,
  };
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    ['--import', TSX, CHAT, ...args],
    { cwd, env: { PATH: process.env.PATH ?? '', ...env } },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  for (const line of lines) child.stdin.write(`${line}\n`);
  if (!options.keepInputOpen) child.stdin.end();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`chat still running after ${RUN_TIMEOUT_MS} ms; stdout: ${stdout}`));
    }, RUN_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolve({ code, stdout, stderr });
    });
  });
}

/** Processes whose command line names this data directory's cluster (zombies have none). */
async function postgresRunningOn(dir: string): Promise<number[]> {
  const cluster = join(dir, 'postgres');
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name));
  const found: number[] = [];
  for (const pid of pids) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').includes(cluster)) found.push(Number(pid));
  }
  return found;
}

/** The chat completion the assistant answered a typed line with (it offers the tools). */
function turnRequest(said: string): ChatRequestBody {
  const request = server.requests
    .map((r) => r.body as ChatRequestBody | undefined)
    .find((body) => body?.tools?.length && textOf(body.messages?.at(-1)?.content) === said);
  if (!request) throw new Error(`no turn request for "${said}"`);
  return request;
}

/** What the model was shown before the typed line: role and text, system prompt left out. */
function conversationBefore(request: ChatRequestBody): { role: string; text: string }[] {
  return (request.messages ?? [])
    .slice(0, -1)
    .filter((m) => m.role !== 'system' && m.role !== 'developer')
    .map((m) => ({ role: m.role, text: textOf(m.content) }));
}

describe('npm run chat', () => {
  it('--help prints the usage and exits 0', async () => {
    const run = await chat(['--help'], [], { env: {} });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('usage: npm run chat -- --user <identity>');
    expect(run.stdout).toContain('OPENAI_BASE_URL');
  });

  it('without --user: one line asking for it, non-zero, nothing started', async () => {
    const run = await chat([], [], { env: { MEMORY_DATA_DIR: join(cwd, 'never') } });
    expect(run.code).not.toBe(0);
    expect(run.stderr.trim().split('\n')).toEqual([
      expect.stringContaining('--user <identity> is required'),
    ]);
    expect(run.stdout).toBe('');
    expect(existsSync(join(cwd, 'never'))).toBe(false);
  });

  it('bad configuration: one line naming the variable, exit 1, no stack', async () => {
    const run = await chat(['--user', 'maya'], [], {
      env: { MEMORY_DATA_DIR: join(cwd, 'never') },
    });
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([
      expect.stringContaining('OPENAI_API_KEY is required'),
    ]);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(cwd, 'never'))).toBe(false);
  });

  it('a second chat as the same caller is greeted by name and recalls the first', async () => {
    const said = 'My name is Maya. I like green tea.';
    const first = await chat(['--user', 'maya'], [said]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    // Plain lines, the greeting first; no framework logs.
    expect(first.stdout.trim().split('\n')).toEqual([
      `agent: ${NEW_CALLER_GREETING}`,
      `agent: You said: ${said}`,
    ]);
    // The greeting was written into the conversation: the model saw it before the caller's line.
    expect(conversationBefore(turnRequest(said))).toEqual([
      { role: 'assistant', text: NEW_CALLER_GREETING },
    ]);
    // The chat ran on its own embedded PostgreSQL and stopped it before exiting.
    expect(existsSync(join(dataDir, 'postgres', 'PG_VERSION'))).toBe(true);
    expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
    expect(await postgresRunningOn(dataDir)).toEqual([]);

    const asked = 'What do you remember about me?';
    // `/bye` with the input still open: the chat ends by itself.
    const second = await chat(['--user', 'maya'], [asked, '/bye'], { keepInputOpen: true });
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    const [greeting, answer, ...rest] = second.stdout.trim().split('\n');
    expect(greeting).toMatch(/^agent: .*\bMaya\b/);
    expect(answer).toMatch(/^agent: .*green tea/i);
    expect(rest).toEqual([]);
    expect(conversationBefore(turnRequest(asked))).toEqual([
      { role: 'assistant', text: greeting!.slice('agent: '.length) },
    ]);
    expect(await postgresRunningOn(dataDir)).toEqual([]);
  }, 60_000);
});
