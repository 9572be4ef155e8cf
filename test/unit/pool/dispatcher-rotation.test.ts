/**
 * The pool's dispatchers with fake ones: cleanup retires the current one without cutting its
 * requests; close waits up to its deadline, destroys after it, and destroys at once for 0.
 */
import type { Agent } from 'undici';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DispatcherRotation } from '../../../src/pool/dispatcher-rotation.js';

// Production's POOL_CLOSE_TIMEOUT_MS.
const CLOSE_TIMEOUT_MS = 5_000;

interface FakeDispatcher {
  stats: Record<string, { connected: number; running: number; pending: number; free: number }>;
  /** Resolves when its requests are done (`finish()`). */
  close: ReturnType<typeof vi.fn>;
  destroy: ReturnType<typeof vi.fn>;
  finish(): void;
}

function fakeDispatcher(): FakeDispatcher {
  let finish = () => undefined as void;
  const closed = new Promise<void>((resolve) => (finish = resolve));
  return {
    stats: {},
    close: vi.fn(() => closed),
    destroy: vi.fn(() => Promise.resolve()),
    finish: () => finish(),
  };
}

function rotation() {
  const made: FakeDispatcher[] = [];
  const dispatchers = new DispatcherRotation(() => {
    const d = fakeDispatcher();
    made.push(d);
    return d as unknown as Agent;
  });
  return { dispatchers, made };
}

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

describe('DispatcherRotation', () => {
  it('counts running requests over every origin of the current dispatcher', () => {
    const { dispatchers, made } = rotation();
    made[0]!.stats = {
      'https://api.openai.com': { connected: 3, running: 2, pending: 0, free: 1 },
      'https://x.supabase.co': { connected: 1, running: 1, pending: 0, free: 0 },
    };
    expect(dispatchers.runningRequests()).toBe(3);
  });

  it('retires the current dispatcher gracefully and reports what it closed and left running', async () => {
    const { dispatchers, made } = rotation();
    made[0]!.stats = { a: { connected: 4, running: 1, pending: 2, free: 3 } };
    expect(dispatchers.retire()).toEqual({ idleConnectionsClosed: 3, requestsLeftRunning: 3 });
    expect(dispatchers.current).toBe(made[1]);
    expect(made[0]!.close).toHaveBeenCalledTimes(1);
    expect(made[0]!.destroy).not.toHaveBeenCalled();
    expect(dispatchers.draining).toBe(1);
    made[0]!.finish();
    await vi.advanceTimersByTimeAsync(0);
    expect(dispatchers.draining).toBe(0);
  });

  it('closes without destroying when requests finish before the deadline', async () => {
    const { dispatchers, made } = rotation();
    const closing = dispatchers.close(CLOSE_TIMEOUT_MS);
    await vi.advanceTimersByTimeAsync(CLOSE_TIMEOUT_MS - 1);
    made[0]!.finish();
    expect(await closing).toBe('finished');
    expect(made[0]!.destroy).not.toHaveBeenCalled();
  });

  it('destroys the current and the retired dispatchers at the deadline', async () => {
    const { dispatchers, made } = rotation();
    dispatchers.retire();
    let outcome: string | undefined;
    void dispatchers.close(CLOSE_TIMEOUT_MS).then((o) => (outcome = o));
    await vi.advanceTimersByTimeAsync(CLOSE_TIMEOUT_MS - 1);
    expect(outcome).toBeUndefined();
    expect(made[1]!.destroy).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(outcome).toBe('destroyed-at-deadline');
    for (const d of made) expect(d.destroy).toHaveBeenCalledTimes(1);
  });

  it('with a deadline of 0, destroys at once without waiting (p-timeout would throw for 0)', async () => {
    const { dispatchers, made } = rotation();
    dispatchers.retire();
    expect(await dispatchers.close(0)).toBe('destroyed-at-once');
    for (const d of made) expect(d.destroy).toHaveBeenCalledTimes(1);
    expect(made[1]!.close).not.toHaveBeenCalled();
  });
});
