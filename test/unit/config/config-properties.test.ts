/**
 * Property-style tests over the configuration schema, with a small seeded generator: every
 * variable given a bad value is named in the error (alone or with others, each exactly once, a
 * credential never echoed); good values are taken as given; a blank value is unset (the default
 * applies), so `cp .env.example .env` with its empty lines starts. A table here lists every
 * variable `.env.example` documents: a new one without a rule fails the coverage test.
 */
import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/config.js';
import { LOG_LEVELS, TTS_VOICES, TURN_DETECTIONS } from '../../../src/config/rules.js';
import { Prng, seed } from '../../reliability/support/prng.js';

type Rule =
  | { kind: 'int'; min: number; max: number; orZero?: true }
  | { kind: 'url'; protocols: string[] }
  | { kind: 'enum'; values: string[] }
  | { kind: 'flag' }
  | { kind: 'text' };

const int = (min: number, max: number): Rule => ({ kind: 'int', min, max });
/** 0 (off) or a value in [min, max]. */
const intOrZero = (min: number, max: number): Rule => ({ kind: 'int', min, max, orZero: true });
const url = (...protocols: string[]): Rule => ({ kind: 'url', protocols });
const TEXT: Rule = { kind: 'text' };

/** Every setting and the rule it must obey (README, .env.example, src/config/). */
const RULES: Record<string, Rule> = {
  LIVEKIT_URL: url('ws:', 'wss:', 'http:', 'https:'),
  LIVEKIT_API_KEY: TEXT,
  LIVEKIT_API_SECRET: TEXT,
  LIVEKIT_AGENT_NAME: TEXT,
  HEALTH_PORT: int(1, 65_535),
  LIVEKIT_MAX_RETRY: int(0, 1_000),
  NUM_IDLE_PROCESSES: int(1, 64),
  OPENAI_API_KEY: TEXT,
  OPENAI_BASE_URL: url('http:', 'https:'),
  OPENAI_LLM_MODEL: TEXT,
  OPENAI_MEMORY_MODEL: TEXT,
  OPENAI_STT_MODEL: TEXT,
  OPENAI_STT_REALTIME: { kind: 'flag' },
  OPENAI_TTS_MODEL: TEXT,
  OPENAI_TTS_VOICE: { kind: 'enum', values: [...TTS_VOICES] },
  TURN_DETECTION: { kind: 'enum', values: [...TURN_DETECTIONS] },
  OPENAI_TIMEOUT_MS: int(1_000, 600_000),
  SUPABASE_URL: url('http:', 'https:'),
  SUPABASE_SERVICE_ROLE_KEY: TEXT,
  DATABASE_URL: url('postgres:', 'postgresql:'),
  MEMORY_DATA_DIR: TEXT,
  EMBEDDED_POSTGRES_PORT: int(0, 65_535),
  MEMORY_STORE_CONNECTIONS: int(1, 100),
  MEMORY_BATCH_SIZE: int(1, 100),
  MEMORY_BATCH_DELAY_MS: int(0, 60_000),
  MEMORY_CONCURRENCY: int(1, 64),
  MEMORY_EXTRACTION_TIMEOUT_MS: int(1_000, 120_000),
  MEMORY_LOAD_TIMEOUT_MS: int(50, 10_000),
  MEMORY_DRAIN_TIMEOUT_MS: int(0, 120_000),
  MEMORY_MAX_QUEUED_TURNS: int(10, 100_000),
  MEMORY_LOAD_CAP: int(1, 20_000),
  MEMORY_PROMPT_FACTS: int(1, 50),
  GREETING_TTL_SECONDS: int(60, 30 * 24 * 3600),
  GREETING_BUDGET_MS: int(10, 5_000),
  GREETING_CACHE_SIZE: int(1, 1_000_000),
  POOL_CONNECTIONS_PER_ORIGIN: int(1, 1_000),
  POOL_KEEP_ALIVE_TIMEOUT_MS: int(30_000, 3_600_000),
  POOL_CONNECT_TIMEOUT_MS: int(100, 60_000),
  POOL_KEEP_WARM_MS: int(0, 3_600_000),
  POOL_INIT_TIMEOUT_MS: int(100, 8_000),
  POOL_CLOSE_TIMEOUT_MS: int(0, 60_000),
  POOL_VOICE_CONNECTIONS: int(1, 1_000),
  POOL_VOICE_OVERFLOW: int(0, 1_000),
  POOL_ACQUIRE_TIMEOUT_MS: int(100, 120_000),
  POOL_MAX_CONNECTION_AGE_MS: intOrZero(1_000, 86_400_000),
  METRICS_PORT: int(1, 65_535),
  METRICS_HOST: TEXT,
  HEALTH_CHECK_INTERVAL_MS: int(1_000, 3_600_000),
  LOG_LEVEL: { kind: 'enum', values: [...LOG_LEVELS] },
};
const NAMES = Object.keys(RULES);
/** Variables that have a value that breaks them (free text takes anything). */
const CHECKED = NAMES.filter((n) => RULES[n]!.kind !== 'text');
const BASE = { OPENAI_API_KEY: 'sk-test-properties-000000' };
const RUNS = 400;

function bad(rule: Rule, r: Prng): string {
  switch (rule.kind) {
    case 'int':
      return r.pick([
        // Below the range, but never the 0 an `orZero` rule takes.
        () => String(rule.orZero ? r.int(1, rule.min - 1) : rule.min - r.int(1, 1_000)),
        () => String(rule.max + r.int(1, 1_000_000)),
        () => `${r.int(rule.min, rule.max)}.${r.int(1, 9)}`,
        () => r.pick(['ten', '12abc', '1,000', '5 ms', 'NaN', 'Infinity', '-', '1_000', '💥']),
        () => r.word(),
      ])();
    case 'url':
      return r.pick([
        () =>
          r.pick(['not a url', 'localhost:5432', '//host/path', 'http//x', 'file:///etc/passwd']),
        () =>
          `${r.pick(['ftp:', 'mysql:', 'redis:', 'gopher:'])}//user:pw-secret-${r.int(0, 999)}@h/db`,
        () => r.word(),
      ])();
    case 'enum':
      return r.pick([() => r.word(), () => r.pick(rule.values).toUpperCase(), () => 'none'])();
    case 'flag':
      return r.pick(['maybe', 'TRUE', 'on', 'off', '2', 'y', r.word()]);
    case 'text':
      throw new Error('free text has no bad value');
  }
}

function good(rule: Rule, r: Prng): string {
  switch (rule.kind) {
    case 'int':
      return rule.orZero && r.int(0, 3) === 0 ? '0' : String(r.int(rule.min, rule.max));
    case 'url':
      return `${r.pick(rule.protocols)}//${r.word()}.example:${r.int(1, 65_535)}/${r.word()}`;
    case 'enum':
      return r.pick(rule.values);
    case 'flag':
      return r.pick(['true', 'false', '1', '0', 'yes', 'no']);
    case 'text':
      return `${r.word()}-${r.int(0, 999)}`;
  }
}

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).problems];
  }
  return [];
}

/** Supabase's URL and key come together: a bad URL is tested with its key present. */
const pairFor = (name: string): Record<string, string> =>
  name === 'SUPABASE_URL' ? { SUPABASE_SERVICE_ROLE_KEY: 'service-role-key' } : {};

const named = (problems: string[], name: string) =>
  problems.filter((p) => p === name || p.startsWith(`${name} `));

describe('configuration, property by property', () => {
  it('has a rule for every variable .env.example documents, and no other', () => {
    const documented = Object.keys(parseEnv(readFileSync('.env.example', 'utf8')));
    expect([...documented].sort()).toEqual([...NAMES].sort());
  });

  it(`names each variable given a bad value, and only it (${RUNS} cases)`, () => {
    const r = new Prng(seed());
    for (let i = 0; i < RUNS; i++) {
      const name = r.pick(CHECKED);
      const value = bad(RULES[name]!, r);
      const problems = problemsOf({ ...BASE, ...pairFor(name), [name]: value });
      const why = `seed ${r.seed}, case ${i}: ${name}=${JSON.stringify(value)} → ${JSON.stringify(problems)}`;
      expect(problems, why).toHaveLength(1);
      expect(named(problems, name), why).toHaveLength(1);
      // A credential in a bad URL is never echoed back.
      if (value.includes('pw-secret')) expect(problems.join('\n'), why).not.toContain('pw-secret');
    }
  });

  it(`names every bad variable at once, each exactly once (${RUNS / 4} cases)`, () => {
    const r = new Prng(seed() + 1);
    for (let i = 0; i < RUNS / 4; i++) {
      const names = r.sample(CHECKED, r.int(2, 8));
      const env: Record<string, string> = { ...BASE };
      for (const name of names) Object.assign(env, pairFor(name), { [name]: bad(RULES[name]!, r) });
      const problems = problemsOf(env);
      const why = `seed ${r.seed}, case ${i}: ${JSON.stringify(env)} → ${JSON.stringify(problems)}`;
      expect(problems, why).toHaveLength(names.length);
      for (const name of names) expect(named(problems, name), why).toHaveLength(1);
      const message = (() => {
        try {
          loadConfig(env);
        } catch (error) {
          return (error as Error).message;
        }
        return '';
      })();
      for (const name of names) expect(message, why).toContain(name);
    }
  });

  it(`takes good values as given (${RUNS / 4} cases)`, () => {
    const r = new Prng(seed() + 2);
    for (let i = 0; i < RUNS / 4; i++) {
      const env: Record<string, string> = { ...BASE };
      for (const name of r.sample(NAMES, r.int(1, 10))) env[name] = good(RULES[name]!, r);
      if (Boolean(env.SUPABASE_URL) !== Boolean(env.SUPABASE_SERVICE_ROLE_KEY)) {
        env.SUPABASE_URL = 'https://project.supabase.example';
        env.SUPABASE_SERVICE_ROLE_KEY = 'service-role-key';
      }
      const why = `seed ${r.seed}, case ${i}: ${JSON.stringify(env)}`;
      expect(problemsOf(env), why).toEqual([]);
      const config = loadConfig(env);
      if (env.MEMORY_BATCH_SIZE)
        expect(config.memory.batchSize, why).toBe(Number(env.MEMORY_BATCH_SIZE));
      if (env.POOL_CONNECTIONS_PER_ORIGIN)
        expect(config.pool.connectionsPerOrigin, why).toBe(Number(env.POOL_CONNECTIONS_PER_ORIGIN));
      if (env.MEMORY_DRAIN_TIMEOUT_MS)
        expect(config.memory.drainTimeoutMs, why).toBe(Number(env.MEMORY_DRAIN_TIMEOUT_MS));
      if (env.OPENAI_TTS_VOICE) expect(config.openai.ttsVoice, why).toBe(env.OPENAI_TTS_VOICE);
      if (env.TURN_DETECTION) expect(config.voice.turnDetection, why).toBe(env.TURN_DETECTION);
    }
  });

  it('a blank value is unset: the default applies, for every variable', () => {
    const defaults = loadConfig(BASE);
    const r = new Prng(seed() + 3);
    for (const name of NAMES.filter((n) => n !== 'OPENAI_API_KEY')) {
      for (const blank of ['', ' ', '\t', r.pick(['  ', ' \t '])]) {
        const env = { ...BASE, [name]: blank };
        expect(problemsOf(env), `${name}=${JSON.stringify(blank)}`).toEqual([]);
        expect(loadConfig(env), `${name}=${JSON.stringify(blank)}`).toEqual(defaults);
      }
    }
    expect(problemsOf({ OPENAI_API_KEY: ' ' })).toEqual(['OPENAI_API_KEY is required']);
  });

  it('starts from .env.example as documented: copy it, fill in the required values', () => {
    const example = parseEnv(readFileSync('.env.example', 'utf8')) as Record<string, string>;
    const env = {
      ...example,
      LIVEKIT_API_KEY: 'APIexample',
      LIVEKIT_API_SECRET: 'example-secret',
      OPENAI_API_KEY: 'sk-example-0000',
    };
    const config = loadConfig(env, { requireLiveKit: true });
    expect(config.supabase).toBeUndefined();
    expect(config.databaseUrl).toBeUndefined(); // the embedded Postgres
    expect(config.openai.memoryModel).toBe(config.openai.llmModel);
  });

  it('names each missing requirement: LiveKit for the worker, both halves of Supabase', () => {
    const r = new Prng(seed() + 4);
    const livekit = ['LIVEKIT_URL', 'LIVEKIT_API_KEY', 'LIVEKIT_API_SECRET'];
    for (let i = 0; i < 20; i++) {
      const missing = r.sample(livekit, r.int(1, 3));
      const env: Record<string, string> = {
        ...BASE,
        LIVEKIT_URL: 'wss://x.example',
        LIVEKIT_API_KEY: 'k',
        LIVEKIT_API_SECRET: 's',
      };
      for (const name of missing) env[name] = r.pick(['', ' ']);
      let problems: string[] = [];
      try {
        loadConfig(env, { requireLiveKit: true });
      } catch (error) {
        problems = [...(error as ConfigError).problems];
      }
      expect(problems.sort()).toEqual(
        missing.map((n) => `${n} is required to register with LiveKit`).sort(),
      );
    }
    expect(problemsOf({ ...BASE, SUPABASE_URL: 'https://x.example' })).toEqual([
      'SUPABASE_SERVICE_ROLE_KEY is required when SUPABASE_URL is set',
    ]);
    expect(problemsOf({ ...BASE, SUPABASE_SERVICE_ROLE_KEY: 'k' })).toEqual([
      'SUPABASE_URL is required when SUPABASE_SERVICE_ROLE_KEY is set',
    ]);
  });
});
