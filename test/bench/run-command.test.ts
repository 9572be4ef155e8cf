/**
 * `npm run bench` as a person runs it, from source in its own process, from a temporary folder
 * (the results are written under the folder it runs in: here, never the repository's): its help,
 * and a wrong `--only` refused before anything runs or is written.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenarios } from '../../bench/scenarios/index.js';

const RUN = fileURLToPath(new URL('../../bench/run.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const NAMES = scenarios.map((scenario) => scenario.name);

let cwd: string;
beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'bench-cwd-'));
});
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

function bench(args: string[]) {
  const child = spawn(process.execPath, ['--import', TSX, RUN, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run bench', () => {
  it('--help: the usage, the options and every scenario by name, exit 0, nothing run', async () => {
    const help = await bench(['--help']);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toMatch(/^usage: npm run bench -- \[--json\]/);
    for (const name of NAMES) expect(help.stdout).toMatch(new RegExp(`[ ,]${name}[,\\n]`));
    expect(existsSync(join(cwd, 'bench'))).toBe(false);
  }, 60_000);

  it('--only with a name that is no scenario: exit 2, the valid names, nothing written', async () => {
    const wrong = await bench(['--only', `${NAMES[0]},bogus`]);
    expect(wrong.code).toBe(2);
    expect(wrong.stdout).toBe('');
    const [first, usage] = wrong.stderr.split('\n');
    expect(first).toBe(`bench: unknown scenario bogus; scenarios: ${NAMES.join(', ')}`);
    expect(usage).toMatch(/^usage: npm run bench -- /);
    expect(wrong.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(cwd, 'bench'))).toBe(false);
  }, 60_000);
});
