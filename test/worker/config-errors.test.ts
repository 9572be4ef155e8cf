import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, secretsOf } from '../../src/config/config.js';

const minimal = { OPENAI_API_KEY: 'sk-test-config-key-123456' };
const livekit = {
  LIVEKIT_URL: 'wss://example.livekit.cloud',
  LIVEKIT_API_KEY: 'APIkey123',
  LIVEKIT_API_SECRET: 'secret-livekit-abcdef',
};

function problemsOf(env: NodeJS.ProcessEnv, requireLiveKit = false): string[] {
  try {
    loadConfig(env, { requireLiveKit });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).problems];
  }
  return [];
}

describe('loadConfig', () => {
  it('applies documented defaults', () => {
    const config = loadConfig(minimal);
    expect(config.openai.baseURL).toBe('https://api.openai.com/v1');
    expect(config.openai.memoryModel).toBe(config.openai.llmModel);
    expect(config.pool.keepAliveTimeoutMs).toBeGreaterThanOrEqual(30_000);
    expect(config.pool.connectionsPerOrigin).toBe(10);
    expect(config.pool.healthCheckIntervalMs).toBe(60_000);
    expect(config.livekit.healthPort).toBe(8081);
    expect(config.supabase).toBeUndefined();
    expect(config.dataDir).toBe('./data');
  });

  it('names every missing variable in one error', () => {
    const problems = problemsOf({}, true);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('OPENAI_API_KEY'),
        expect.stringContaining('LIVEKIT_URL'),
        expect.stringContaining('LIVEKIT_API_KEY'),
        expect.stringContaining('LIVEKIT_API_SECRET'),
      ]),
    );
    expect(problems).toHaveLength(4);
  });

  it('reports invalid values together with missing ones', () => {
    const problems = problemsOf(
      {
        ...livekit,
        LIVEKIT_URL: 'not a url',
        POOL_CONNECTIONS_PER_ORIGIN: 'many',
        POOL_KEEP_ALIVE_TIMEOUT_MS: '4000',
        OPENAI_TTS_VOICE: 'robot',
        SUPABASE_URL: 'https://x.supabase.co',
      },
      true,
    );
    const text = problems.join('\n');
    for (const name of [
      'OPENAI_API_KEY',
      'LIVEKIT_URL',
      'POOL_CONNECTIONS_PER_ORIGIN',
      'POOL_KEEP_ALIVE_TIMEOUT_MS',
      'OPENAI_TTS_VOICE',
      'SUPABASE_SERVICE_ROLE_KEY',
    ]) {
      expect(text).toContain(name);
    }
    expect(problems).toHaveLength(6);
  });

  it('treats empty strings as unset', () => {
    expect(problemsOf({ OPENAI_API_KEY: '   ' })).toEqual(['OPENAI_API_KEY is required']);
  });

  it('does not require LiveKit when only building the agent', () => {
    expect(() => loadConfig(minimal)).not.toThrow();
  });

  it('builds the Supabase settings only when both are set', () => {
    const config = loadConfig({
      ...minimal,
      SUPABASE_URL: 'https://abc.supabase.co/',
      SUPABASE_SERVICE_ROLE_KEY: 'service-key-xyz',
    });
    expect(config.supabase).toEqual({
      url: 'https://abc.supabase.co',
      serviceRoleKey: 'service-key-xyz',
    });
  });

  it('lists every secret for redaction', () => {
    const config = loadConfig({
      ...minimal,
      ...livekit,
      SUPABASE_URL: 'https://abc.supabase.co',
      SUPABASE_SERVICE_ROLE_KEY: 'service-key-xyz',
      DATABASE_URL: 'postgres://user:db-password-1@db.example.com:5432/app',
    });
    expect(secretsOf(config)).toEqual(
      expect.arrayContaining([
        minimal.OPENAI_API_KEY,
        livekit.LIVEKIT_API_KEY,
        livekit.LIVEKIT_API_SECRET,
        'service-key-xyz',
        'db-password-1',
      ]),
    );
  });

  it('error messages never echo a secret value', () => {
    const problems = problemsOf({
      OPENAI_API_KEY: 'sk-visible-secret-000',
      DATABASE_URL: 'mysql://u:pw-secret@h/db',
    });
    expect(problems.join('\n')).not.toContain('pw-secret');
    expect(problems.join('\n')).not.toContain('sk-visible-secret-000');
    expect(problems.join('\n')).toContain('DATABASE_URL');
  });
});

describe('the worker command line', () => {
  it('exits non-zero with one message and no stack when configuration is missing', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/agent.ts', 'start'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('Invalid configuration (4 problems)');
    expect(result.stderr).toContain('LIVEKIT_API_SECRET');
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack frames
    expect(result.stderr).not.toContain('MissingCredentialsError');
  });
});
