/**
 * The worker's command line with a bad configuration: one message, exit 1, no stack. Each run
 * happens in a fresh temp directory, never the checkout: the worker reads `.env` from its working
 * directory, and a developer's `.env` would start a real worker. A second case shows that a
 * `.env` there IS read, so the first one would see it. (loadConfig itself: test/unit/config/.)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const AGENT = fileURLToPath(new URL('../../src/agent.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** `start` in an empty temp directory, with only PATH and HOME from this environment. */
function startIn(files: Record<string, string> = {}) {
  const cwd = mkdtempSync(join(tmpdir(), 'config-errors-'));
  dirs.push(cwd);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(cwd, name), text);
  const result = spawnSync(process.execPath, ['--import', TSX, AGENT, 'start'], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { ...result, left: readdirSync(cwd) };
}

describe('the worker command line', () => {
  it('exits non-zero with one message and no stack when configuration is missing', () => {
    const result = startIn();
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('Invalid configuration (4 problems)');
    expect(result.stderr).toContain('LIVEKIT_API_SECRET');
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack frames
    expect(result.stderr).not.toContain('MissingCredentialsError');
    expect(result.left).toEqual([]); // nothing started: no ./data
  });

  it('reads .env from its working directory: what it sets is no longer missing', () => {
    const result = startIn({
      '.env': [
        'LIVEKIT_URL=wss://project.livekit.example',
        'LIVEKIT_API_KEY=APIdotenvkey0000',
        'LIVEKIT_API_SECRET=dotenv-secret-0000000000',
        'POOL_CONNECTIONS_PER_ORIGIN=many',
      ].join('\n'),
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('Invalid configuration (2 problems)');
    expect(result.stderr).toContain('OPENAI_API_KEY is required');
    expect(result.stderr).toContain('POOL_CONNECTIONS_PER_ORIGIN must be a whole number');
    expect(result.stderr).not.toContain('LIVEKIT_');
    expect(result.stderr).not.toContain('dotenv-secret');
    expect(result.left).toEqual(['.env']);
  });
});
