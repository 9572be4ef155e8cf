/**
 * The health monitor on fake timers and fake checks: degraded, then down after `downAfter`
 * failures, the client handed over for a rebuild at 3, 6, 12…, reset by one success, and checks
 * on production's interval and deadline.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HealthMonitor, type HealthMonitorOptions } from '../../../src/pool/health-monitor.js';

// Production's defaults: HEALTH_CHECK_INTERVAL_MS and POOL_INIT_TIMEOUT_MS.
const INTERVAL_MS = 60_000;
const TIMEOUT_MS = 3_000;

/** A check that fails while `failing` is true, counting its calls. */
function fakeCheck() {
  const check = {
    failing: false,
    calls: 0,
    run: async () => {
      check.calls++;
      if (check.failing) throw new Error('503 from the front end');
    },
  };
  return check;
}

function monitor(options: Partial<HealthMonitorOptions> = {}) {
  const rebuilds: number[] = [];
  const changes: string[] = [];
  const health = new HealthMonitor({
    intervalMs: INTERVAL_MS,
    timeoutMs: TIMEOUT_MS,
    onPersistentFailure: (_service, failures) => void rebuilds.push(failures),
    onChange: (_service, h) => void changes.push(h.status),
    ...options,
  });
  return { health, rebuilds, changes };
}

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

describe('HealthMonitor', () => {
  it('goes degraded on the first failure and down at the third; rebuilds at 3, 6 and 12', async () => {
    const { health, rebuilds, changes } = monitor();
    const api = fakeCheck();
    health.add('api', api.run);
    api.failing = true;
    const seen: string[] = [];
    for (let i = 1; i <= 12; i++) seen.push((await health.check('api')).status);
    expect(seen.slice(0, 3)).toEqual(['degraded', 'degraded', 'down']);
    expect(seen.slice(3)).toEqual(Array(9).fill('down'));
    expect(rebuilds).toEqual([3, 6, 12]);
    expect(changes).toEqual(['degraded', 'down']); // told of changes only
    expect(health.snapshot().api).toMatchObject({
      consecutiveFailures: 12,
      rebuilds: 3,
      lastError: '503 from the front end',
    });
  });

  it('takes its threshold from downAfter', async () => {
    const { health, rebuilds } = monitor({ downAfter: 5 });
    const api = fakeCheck();
    health.add('api', api.run);
    api.failing = true;
    for (let i = 1; i <= 4; i++) await health.check('api');
    expect(health.snapshot().api?.status).toBe('degraded');
    expect(rebuilds).toEqual([]);
    await health.check('api');
    expect(health.snapshot().api?.status).toBe('down');
    expect(rebuilds).toEqual([5]);
  });

  it('is healthy again after one success: failures reset, rebuilds kept, the count starts over', async () => {
    const { health, rebuilds, changes } = monitor();
    const api = fakeCheck();
    health.add('api', api.run);
    api.failing = true;
    for (let i = 0; i < 4; i++) await health.check('api');
    api.failing = false;
    expect(await health.check('api')).toMatchObject({
      status: 'healthy',
      consecutiveFailures: 0,
      rebuilds: 1,
    });
    api.failing = true;
    for (let i = 0; i < 2; i++) await health.check('api');
    expect(rebuilds).toEqual([3]); // two new failures are not three
    await health.check('api');
    expect(rebuilds).toEqual([3, 3]);
    expect(changes).toEqual(['degraded', 'down', 'healthy', 'degraded', 'down']);
  });

  it('fails a check that misses its deadline, and aborts it', async () => {
    const { health } = monitor();
    let signal: AbortSignal | undefined;
    health.add('api', (s) => {
      signal = s;
      return new Promise(() => undefined); // never answers
    });
    const checked = health.check('api');
    await vi.advanceTimersByTimeAsync(TIMEOUT_MS - 1);
    expect(health.snapshot().api?.status).toBe('unknown');
    await vi.advanceTimersByTimeAsync(1);
    expect(await checked).toMatchObject({
      status: 'degraded',
      lastError: expect.stringContaining(`${TIMEOUT_MS} ms`),
    });
    expect(signal?.aborted).toBe(true);
  });

  it('runs one check for concurrent callers', async () => {
    const { health } = monitor();
    const api = fakeCheck();
    health.add('api', api.run);
    await Promise.all([health.check('api'), health.check('api'), health.checkAll()]);
    expect(api.calls).toBe(1);
  });

  it('checks every service once per interval, on a timer that keeps nothing alive, until stopped', async () => {
    const { health } = monitor();
    const [a, b] = [fakeCheck(), fakeCheck()];
    health.add('a', a.run);
    health.add('b', b.run);
    health.start();
    health.start(); // a second start adds no second timer
    await vi.advanceTimersByTimeAsync(INTERVAL_MS - 1);
    expect([a.calls, b.calls]).toEqual([0, 0]);
    await vi.advanceTimersByTimeAsync(1);
    expect([a.calls, b.calls]).toEqual([1, 1]);
    await vi.advanceTimersByTimeAsync(2 * INTERVAL_MS);
    expect([a.calls, b.calls]).toEqual([3, 3]);
    expect(health.snapshot().a?.status).toBe('healthy');
    health.stop();
    await vi.advanceTimersByTimeAsync(5 * INTERVAL_MS);
    expect([a.calls, b.calls]).toEqual([3, 3]);
  });

  it('never lets a timer of its own keep the process alive', () => {
    const setInterval = vi.spyOn(globalThis, 'setInterval');
    const { health } = monitor();
    health.start();
    const timer = setInterval.mock.results[0]?.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    health.stop();
    setInterval.mockRestore();
  });

  it('scrubs secrets from recorded errors', async () => {
    // Shaped like no known key, so only the list of secrets can catch it.
    const { health } = monitor({ secrets: ['plain-unit-secret-0000'] });
    health.add('api', async () => {
      throw new Error('bad key plain-unit-secret-0000');
    });
    const { lastError } = await health.check('api');
    expect(lastError).toBe('bad key [redacted]');
  });
});
