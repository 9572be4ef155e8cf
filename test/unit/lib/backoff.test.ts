/** The wait between retries of a service that is down: doubling, jittered, capped, reset. */
import { describe, expect, it } from 'vitest';
import { Backoff } from '../../../src/lib/backoff.js';

describe('backoff', () => {
  it('doubles from 1 s to a 60 s cap, each wait in the upper half of its step', () => {
    const lowest = new Backoff({ random: () => 0 });
    const highest = new Backoff({ random: () => 0.999_999 });
    const steps = [1, 2, 4, 8, 16, 32, 60, 60, 60].map((s) => s * 1000);
    for (const step of steps) {
      expect(lowest.next()).toBe(step / 2);
      expect(highest.next()).toBe(step);
    }
    expect(lowest.attempts).toBe(steps.length);
  });

  it('draws with Math.random by default, within the bounds', () => {
    const backoff = new Backoff();
    const waits = Array.from({ length: 200 }, () => {
      backoff.reset();
      backoff.next();
      return backoff.next(); // the second step: 1–2 s
    });
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(1_000);
    expect(Math.max(...waits)).toBeLessThanOrEqual(2_000);
    expect(new Set(waits).size).toBeGreaterThan(50); // jittered, not one value
  });

  it('makes at most 8 attempts in a minute however the draws fall', () => {
    const backoff = new Backoff({ random: () => 0 });
    let at = 0;
    let attempts = 1; // the call that failed first
    for (;;) {
      at += backoff.next();
      if (at > 60_000) break;
      attempts++;
    }
    expect(attempts).toBeLessThanOrEqual(8);
  });

  it('starts again from the first step after a success', () => {
    const backoff = new Backoff({ random: () => 0 });
    for (let i = 0; i < 10; i++) backoff.next();
    backoff.reset();
    expect(backoff.attempts).toBe(0);
    expect(backoff.next()).toBe(500);
  });

  it('keeps each default when an option is undefined', () => {
    const backoff = new Backoff({ baseMs: undefined, maxMs: undefined } as never);
    expect([backoff.baseMs, backoff.maxMs]).toEqual([1_000, 60_000]);
  });
});
