/** The check before the framework forks anything: what is said, and when it gives up. */
import { describe, expect, it } from 'vitest';
import type { ProbeOutcome } from '../../../src/worker/livekit-probe.js';
import { retryDelayMs, waitForLiveKit } from '../../../src/worker/wait-for-livekit.js';
import { captureLogs } from '../../memory/support/log-capture.js';

const ACCESS = {
  url: 'wss://user:pw@lk.example/',
  apiKey: 'APIkey',
  apiSecret: 'the-secret-value',
};
const refused: ProbeOutcome = { reached: false, cause: 'ECONNREFUSED' };

function run(outcomes: ProbeOutcome[], maxRetry: number) {
  const { logger, lines } = captureLogs();
  const waits: number[] = [];
  const result = waitForLiveKit(ACCESS, {
    maxRetry,
    logger,
    secrets: [ACCESS.apiSecret],
    probe: async () => outcomes.shift() ?? { reached: true },
    wait: async (ms) => waits.push(ms),
  });
  return { result, lines, waits };
}

describe('waitForLiveKit', () => {
  it("waits on the framework's schedule, says it clearly once, then briefly, and gives up", async () => {
    const { result, lines, waits } = run(Array(12).fill(refused), 10);
    expect(await result).toEqual(refused);
    expect(waits).toEqual([2, 4, 6, 8, 10, 10, 10, 10, 10, 10].map((s) => s * 1_000));
    expect(lines).toHaveLength(10);
    expect(lines[0]!.msg).toBe(
      'cannot reach the LiveKit server at wss://lk.example (ECONNREFUSED): check LIVEKIT_URL and that the server is running; retrying in 2 s (1/10)',
    );
    expect(lines[9]!.msg).toBe(
      'still no LiveKit server at wss://lk.example (ECONNREFUSED); retrying in 10 s (10/10)',
    );
    expect(lines.every((l) => l.level === 'warn')).toBe(true);
  });

  it('a refused key names the key variables; never the secret', async () => {
    const denied: ProbeOutcome = {
      reached: false,
      status: 401,
      cause: 'HTTP 401 the-secret-value',
    };
    const { result, lines } = run([denied], 1);
    expect(await result).toBeUndefined();
    expect(lines.map((l) => l.msg)).toEqual([
      "the LiveKit server at wss://lk.example refused the worker's key (HTTP 401 [redacted]): check LIVEKIT_API_KEY and LIVEKIT_API_SECRET; retrying in 2 s (1/1)",
      'LiveKit server at wss://lk.example reached',
    ]);
  });

  it('LIVEKIT_MAX_RETRY=0: one attempt, no wait; a reachable server: no line at all', async () => {
    const once = run([refused], 0);
    expect(await once.result).toEqual(refused);
    expect([once.waits, once.lines]).toEqual([[], []]);
    const fine = run([], 10);
    expect(await fine.result).toBeUndefined();
    expect(fine.lines).toEqual([]);
    expect(retryDelayMs(1)).toBe(2_000);
  });
});
