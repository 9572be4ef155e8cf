/**
 * loadConfig as code calls it: defaults, one error for every problem, the settings that depend
 * on another variable, the edge values the options document, and secretsOf. No process, no file
 * but a temp one (loadDotEnv).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/config.js';
import { loadDotEnv } from '../../../src/config/dot-env.js';
import { secretsOf } from '../../../src/config/secrets.js';

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
    expect(config.pool.connectionsPerOrigin).toBe(17);
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

  it('takes each documented edge value: 0 closes at once, turns keep-warm off, picks any port', () => {
    const config = loadConfig({
      ...minimal,
      POOL_CLOSE_TIMEOUT_MS: '0',
      POOL_KEEP_WARM_MS: '0',
      EMBEDDED_POSTGRES_PORT: '0',
      MEMORY_DRAIN_TIMEOUT_MS: '0',
      MEMORY_BATCH_DELAY_MS: '0',
      LIVEKIT_MAX_RETRY: '0',
    });
    expect(config.pool).toMatchObject({ closeTimeoutMs: 0, keepWarmMs: 0 });
    expect(config.embeddedPostgresPort).toBe(0);
    expect(config.memory).toMatchObject({ drainTimeoutMs: 0, batchDelayMs: 0 });
    expect(config.livekit.maxRetry).toBe(0);
  });

  it('uses its own memory model when set, and drops trailing slashes from base URLs', () => {
    const config = loadConfig({
      ...minimal,
      OPENAI_LLM_MODEL: 'talk-model',
      OPENAI_MEMORY_MODEL: 'memory-model',
      OPENAI_BASE_URL: 'http://127.0.0.1:8080/v1//',
    });
    expect(config.openai).toMatchObject({
      llmModel: 'talk-model',
      memoryModel: 'memory-model',
      baseURL: 'http://127.0.0.1:8080/v1',
    });
    expect(loadConfig({ ...minimal, OPENAI_LLM_MODEL: 'talk-model' }).openai.memoryModel).toBe(
      'talk-model',
    );
  });

  it('an operator command without OpenAI gets an empty key, and no secret for it', () => {
    const config = loadConfig({}, { requireOpenAI: false });
    expect(config.openai.apiKey).toBe('');
    expect(secretsOf(config)).toEqual([]);
  });
});

describe('loadDotEnv', () => {
  it('reads the file into the environment; a variable already set keeps its value', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dot-env-'));
    const names = ['CONFIG_UNIT_FROM_FILE', 'CONFIG_UNIT_ALREADY_SET'] as const;
    try {
      writeFileSync(
        join(dir, '.env'),
        `${names[0]}=from-file\n${names[1]}=from-file\n# a comment\n`,
      );
      process.env[names[1]] = 'from-environment';
      loadDotEnv(join(dir, '.env'));
      expect(process.env[names[0]]).toBe('from-file');
      expect(process.env[names[1]]).toBe('from-environment');
      expect(() => loadDotEnv(join(dir, 'missing.env'))).not.toThrow();
    } finally {
      for (const name of names) delete process.env[name];
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
