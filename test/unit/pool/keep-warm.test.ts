/**
 * Keep-warm on fake timers and fake services: an idle service gets its `connections` cheap
 * requests at once, a busy one none, and a service still being warmed is not warmed again.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KeepWarm, type WarmableService } from '../../../src/pool/keep-warm.js';

// Production's POOL_KEEP_WARM_MS: a look every 10 s.
const IDLE_MS = 20_000;

interface FakeService {
  inFlight: number;
  lastActiveAt: number;
  sent: number;
}

const fake = (state: Partial<FakeService> = {}): FakeService => ({
  inFlight: 0,
  lastActiveAt: Date.now(),
  sent: 0,
  ...state,
});

/** A service whose warm-up requests answer at once and count as activity. */
const service = (state: FakeService, name = 'svc', connections?: number) =>
  ({
    name,
    ...(connections === undefined ? {} : { connections }),
    idleForMs: (now: number) => now - state.lastActiveAt,
    inFlight: () => state.inFlight,
    warm: async () => {
      state.sent++;
      state.lastActiveAt = Date.now();
    },
  }) satisfies WarmableService;

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

describe('KeepWarm', () => {
  it('warms only what has idled half its time, never a busy service, never when off', async () => {
    const idle = fake();
    const busy = fake({ inFlight: 1, lastActiveAt: Date.now() - 60_000 });
    const on = new KeepWarm({ idleMs: IDLE_MS, connections: 2, services: () => [service(idle)] });
    const busyWarm = new KeepWarm({
      idleMs: IDLE_MS,
      connections: 2,
      services: () => [service(busy)],
    });
    const off = new KeepWarm({ idleMs: 0, connections: 2, services: () => [service(idle)] });
    for (const k of [on, busyWarm, off]) k.start();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(idle.sent).toBe(2);
    idle.lastActiveAt = Date.now(); // a request of a call
    await vi.advanceTimersByTimeAsync(9_000);
    expect(idle.sent).toBe(2); // it was just used: nothing to do
    await vi.advanceTimersByTimeAsync(60_000);
    expect(idle.sent).toBe(2 + 2 * 6);
    expect(busy.sent).toBe(0);
    expect(on.requests).toBe(idle.sent);
    expect(off.requests).toBe(0);
    for (const k of [on, busyWarm, off]) k.stop();
  });

  it("sends each service's own number of requests at once: 2, 1, or none for 0", async () => {
    const [two, one, none, unsaid] = [fake(), fake(), fake(), fake()];
    const keepWarm = new KeepWarm({
      idleMs: IDLE_MS,
      connections: 3,
      services: () => [
        service(two, 'two', 2),
        service(one, 'one', 1),
        service(none, 'none', 0),
        service(unsaid, 'unsaid'),
      ],
    });
    keepWarm.start();
    await vi.advanceTimersByTimeAsync(IDLE_MS / 2);
    expect([two.sent, one.sent, none.sent, unsaid.sent]).toEqual([2, 1, 0, 3]);
    expect(keepWarm.requests).toBe(6);
    keepWarm.stop();
  });

  it('waits for a warm-up to settle before warming that service again', async () => {
    const idleSince = Date.now();
    const answers: (() => void)[] = [];
    const slow: WarmableService = {
      name: 'slow',
      idleForMs: (now) => now - idleSince, // its answers never arrive, so it stays idle
      inFlight: () => 0,
      warm: () => new Promise<void>((resolve) => answers.push(resolve)),
    };
    const keepWarm = new KeepWarm({ idleMs: IDLE_MS, connections: 2, services: () => [slow] });
    keepWarm.start();
    await vi.advanceTimersByTimeAsync(IDLE_MS / 2);
    expect(answers).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(5 * IDLE_MS); // ten looks while the warm-up hangs
    expect(answers).toHaveLength(2);
    answers[0]!();
    await vi.advanceTimersByTimeAsync(IDLE_MS / 2);
    expect(answers).toHaveLength(2); // one of the two still hangs
    answers[1]!();
    await vi.advanceTimersByTimeAsync(IDLE_MS / 2);
    expect(answers).toHaveLength(4);
    expect(keepWarm.requests).toBe(4);
    keepWarm.stop();
  });

  it('looks every half idleMs, starts once, and stops looking when stopped', async () => {
    const state = fake({ lastActiveAt: Date.now() - IDLE_MS });
    const keepWarm = new KeepWarm({
      idleMs: IDLE_MS,
      connections: 1,
      services: () => [service(state)],
    });
    keepWarm.start();
    keepWarm.start();
    await vi.advanceTimersByTimeAsync(IDLE_MS / 2 - 1);
    expect(state.sent).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(state.sent).toBe(1);
    keepWarm.stop();
    await vi.advanceTimersByTimeAsync(10 * IDLE_MS);
    expect(state.sent).toBe(1);
  });
});

describe('KeepWarm.warmNow', () => {
  it('warms the chosen services at once, busy or just used (their connections were recycled)', () => {
    const busy = fake({ inFlight: 1 });
    const other = fake();
    const keepWarm = new KeepWarm({
      idleMs: IDLE_MS,
      connections: 2,
      services: () => [service(busy, 'voice'), service(other, 'store')],
    });
    keepWarm.warmNow((name) => name === 'voice');
    expect([busy.sent, other.sent]).toEqual([2, 0]);
    // Still being warmed: not sent twice.
    keepWarm.warmNow((name) => name === 'voice');
    expect(busy.sent).toBe(2);
    expect(keepWarm.requests).toBe(2);
  });
});
