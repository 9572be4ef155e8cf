/**
 * How the per-origin cap is split between the lanes: the defaults (5 + 2 for the voice, 10 for
 * background work), and the edges, where the overflow shrinks first, then the base, and each
 * lane keeps at least one connection.
 */
import { describe, expect, it } from 'vitest';
import { laneBudget, laneBudgetWarning } from '../../../src/pool/pool-lanes.js';
import { testConfig } from '../../support/config.js';

const budget = (env: Record<string, string> = {}) => laneBudget(testConfig(env).pool);

describe('laneBudget', () => {
  it('gives the voice lane 5 + 2 and background work the other 10 of the default cap of 17', () => {
    expect(budget()).toEqual({ voiceBase: 5, voiceOverflow: 2, background: 10 });
  });

  it('gives background work what a larger cap leaves', () => {
    expect(budget({ POOL_CONNECTIONS_PER_ORIGIN: '32' })).toEqual({
      voiceBase: 5,
      voiceOverflow: 2,
      background: 25,
    });
  });

  it('shrinks the overflow first, then the base, when the cap is too small', () => {
    expect(budget({ POOL_CONNECTIONS_PER_ORIGIN: '7' })).toEqual({
      voiceBase: 5,
      voiceOverflow: 1,
      background: 1,
    });
    expect(budget({ POOL_CONNECTIONS_PER_ORIGIN: '4' })).toEqual({
      voiceBase: 3,
      voiceOverflow: 0,
      background: 1,
    });
  });

  it('keeps one connection per lane even at a cap of 1, and honours no overflow', () => {
    expect(budget({ POOL_CONNECTIONS_PER_ORIGIN: '1' })).toEqual({
      voiceBase: 1,
      voiceOverflow: 0,
      background: 1,
    });
    expect(budget({ POOL_VOICE_OVERFLOW: '0' })).toEqual({
      voiceBase: 5,
      voiceOverflow: 0,
      background: 12,
    });
  });
});

describe('laneBudgetWarning', () => {
  it('is silent on the defaults and says what to set when background work is starved', () => {
    expect(laneBudgetWarning(testConfig())).toBeUndefined();
    // The cap of 10 an .env written before the lanes carries: 3 left for 4 extractions.
    expect(laneBudgetWarning(testConfig({ POOL_CONNECTIONS_PER_ORIGIN: '10' }))).toBe(
      "POOL_CONNECTIONS_PER_ORIGIN=10 leaves background work 3 connection(s) per origin after the voice lane's 5 + 2, fewer than MEMORY_CONCURRENCY=4: extractions will queue and fail after POOL_ACQUIRE_TIMEOUT_MS. Raise POOL_CONNECTIONS_PER_ORIGIN to at least 11 (the default 17 leaves 10), or unset it",
    );
    expect(laneBudgetWarning(testConfig({ POOL_CONNECTIONS_PER_ORIGIN: '11' }))).toBeUndefined();
  });
});
