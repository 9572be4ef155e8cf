/** The worker options an operator's variables set, and the framework's defaults where unset. */
import { describe, expect, it } from 'vitest';
import { serverOptionsFor } from '../../../src/worker/server-options.js';
import { testConfig } from '../../support/config.js';

const LIVEKIT = {
  LIVEKIT_URL: 'wss://example.livekit.cloud',
  LIVEKIT_API_KEY: 'APIkey123',
  LIVEKIT_API_SECRET: 'secret-livekit-abcdef',
};

describe('serverOptionsFor', () => {
  it('passes the LiveKit settings, the health port and the idle process count', () => {
    const options = serverOptionsFor(
      '/app/dist/agent.js',
      testConfig({ ...LIVEKIT, NUM_IDLE_PROCESSES: '1', HEALTH_PORT: '9090' }),
    );
    expect(options).toMatchObject({
      agent: '/app/dist/agent.js',
      wsURL: LIVEKIT.LIVEKIT_URL,
      apiKey: LIVEKIT.LIVEKIT_API_KEY,
      apiSecret: LIVEKIT.LIVEKIT_API_SECRET,
      port: 9090,
      numIdleProcesses: 1,
    });
  });

  it('leaves the framework its default idle processes when NUM_IDLE_PROCESSES is unset', () => {
    const framework = serverOptionsFor('/app/dist/agent.js', undefined).numIdleProcesses;
    expect(serverOptionsFor('/app/dist/agent.js', testConfig(LIVEKIT)).numIdleProcesses).toBe(
      framework,
    );
  });

  it('refuses 0, which the framework would read as its default', () => {
    expect(() => testConfig({ NUM_IDLE_PROCESSES: '0' })).toThrow(/NUM_IDLE_PROCESSES/);
  });
});
