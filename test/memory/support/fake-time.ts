/**
 * Fake timers for tests of production delays (a 1.5 s batch delay, a 60 s backoff cap) while
 * real I/O goes on: sockets, files and the database answer in real time between the steps.
 */
import { vi } from 'vitest';

// Taken before any test fakes the timers: the real pause that lets I/O complete.
const realSetTimeout = globalThis.setTimeout;

/** Fakes `setTimeout`/`clearTimeout` only: intervals, `Date` and I/O stay real. */
export function fakeTimeouts(): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
}

/**
 * Moves fake time on by `ms`, in steps, with a short real pause after each so that requests,
 * file writes and queries started by the timers that fired can finish.
 * @param ms fake milliseconds to pass
 * @param stepMs fake milliseconds per step
 * @param realPauseMs real milliseconds after each step, for the I/O it started
 */
export async function advance(ms: number, stepMs = 100, realPauseMs = 3): Promise<void> {
  for (let passed = 0; passed < ms; passed += stepMs) {
    await vi.advanceTimersByTimeAsync(Math.min(stepMs, ms - passed));
    await new Promise((resolve) => realSetTimeout(resolve, realPauseMs));
  }
}

/**
 * Advances fake time until `check` passes (or `maxMs` of fake time is spent). Each step leaves
 * real I/O more room than `advance` does (10 ms): what is awaited usually waits on a file or a
 * socket first, and a loaded machine must not make fake time run out before the I/O is done.
 * @returns the fake milliseconds it took
 * @throws the check's last failure when the time is up
 */
export async function advanceUntil(
  check: () => Promise<unknown> | unknown,
  maxMs: number,
  stepMs = 100,
): Promise<number> {
  for (let passed = 0; ; passed += stepMs) {
    try {
      await check();
      return passed;
    } catch (error) {
      if (passed >= maxMs) throw error;
    }
    await advance(stepMs, stepMs, 10);
  }
}
