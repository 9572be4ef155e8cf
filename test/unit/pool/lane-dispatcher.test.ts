/**
 * A lane on fake dispatchers and fake timers: base connections first, then overflow, then its
 * own queue (oldest first, per origin); a background request that waits past the acquisition
 * timeout fails with PoolAcquireError, a voice request waits without a bound of its own.
 */
import type { Agent, Dispatcher } from 'undici';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LaneCounters, LaneDispatcher, untilAborted } from '../../../src/pool/lane-dispatcher.js';
import { PoolAcquireError, poolAcquireErrorOf } from '../../../src/pool/pool-acquire-error.js';
import { testConfig } from '../../support/config.js';

// Production's defaults: voice base 5, overflow 2, POOL_ACQUIRE_TIMEOUT_MS 5000.
const { voiceConnections, voiceOverflow, acquireTimeoutMs } = testConfig().pool;
const ORIGIN = 'https://api.openai.com';

/** A dispatcher that holds each request until the test answers it. */
function fakeAgent() {
  const held: { options: Dispatcher.DispatchOptions; handler: Dispatcher.DispatchHandler }[] = [];
  const agent = {
    held,
    stats: {},
    dispatch: vi.fn((options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) => {
      held.push({ options, handler });
      return true;
    }),
    close: vi.fn(() => Promise.resolve()),
    destroy: vi.fn(() => Promise.resolve()),
    /** Answers the oldest held request (its connection comes free). */
    answer(): void {
      held.shift()!.handler.onComplete!(null);
    },
  };
  return agent;
}

/** A request as Node's fetch sends it: a legacy handler that records how it ended. */
function request(origin = ORIGIN) {
  const ended: { error?: Error; completed?: boolean } = {};
  const handler: Dispatcher.DispatchHandler = {
    onConnect: () => undefined,
    onError: (error) => void (ended.error = error),
    onComplete: () => void (ended.completed = true),
  };
  return {
    options: { origin, path: '/v1/chat/completions', method: 'POST' } as const,
    handler,
    ended,
  };
}

function lane(kind: 'voice' | 'background') {
  const base = fakeAgent();
  const overflow = fakeAgent();
  const counters = new LaneCounters();
  const voice = kind === 'voice';
  const dispatcher = new LaneDispatcher({
    lane: kind,
    base: base as unknown as Agent,
    baseSize: voice ? voiceConnections : 3,
    overflow: voice ? (overflow as unknown as Agent) : undefined,
    overflowSize: voice ? voiceOverflow : 0,
    acquireTimeoutMs: voice ? null : acquireTimeoutMs,
    counters,
  });
  const send = (origin?: string) => {
    const r = request(origin);
    dispatcher.dispatch(r.options, r.handler);
    return r;
  };
  return { dispatcher, base, overflow, counters, send };
}

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

describe('LaneDispatcher', () => {
  it('fills the base, then the overflow, then queues; a freed connection takes the oldest waiting', () => {
    const { dispatcher, base, overflow, counters, send } = lane('voice');
    for (let i = 0; i < voiceConnections + voiceOverflow; i++) send();
    expect(base.held).toHaveLength(voiceConnections);
    expect(overflow.held).toHaveLength(voiceOverflow);
    const first = send();
    const second = send();
    expect(dispatcher.use()).toEqual({ running: 7, waiting: 2 });
    expect(counters).toMatchObject({ requests: 9, overflowRequests: 2, waited: 2 });

    vi.advanceTimersByTime(40);
    base.answer();
    // The first waiting request took the base connection that came free, in order.
    expect(base.held).toHaveLength(voiceConnections);
    expect(dispatcher.use()).toEqual({ running: 7, waiting: 1 });
    base.held.at(-1)!.handler.onComplete!(null);
    expect(first.ended.completed).toBe(true);
    expect(second.ended.completed).toBeUndefined();
    expect(counters.maxWaitMs).toBeGreaterThanOrEqual(40);
  });

  it('counts each origin apart: a busy origin never holds up another', () => {
    const { base, send } = lane('background');
    for (let i = 0; i < 3; i++) send('https://api.openai.com');
    send('https://api.openai.com');
    send('https://x.supabase.co');
    expect(base.held.map((h) => h.options.origin)).toEqual([
      ...Array(3).fill('https://api.openai.com'),
      'https://x.supabase.co',
    ]);
  });

  it('fails a background request that waited POOL_ACQUIRE_TIMEOUT_MS, with a clear, counted error', () => {
    const { dispatcher, base, counters, send } = lane('background');
    for (let i = 0; i < 3; i++) send();
    const waiting = send();
    vi.advanceTimersByTime(acquireTimeoutMs - 1);
    expect(waiting.ended.error).toBeUndefined();
    vi.advanceTimersByTime(1);
    expect(waiting.ended.error).toBeInstanceOf(PoolAcquireError);
    expect(waiting.ended.error!.message).toBe(
      `no background connection to ${ORIGIN} came free within ${acquireTimeoutMs} ms`,
    );
    expect(poolAcquireErrorOf(new TypeError('fetch failed', { cause: waiting.ended.error }))).toBe(
      waiting.ended.error,
    );
    expect(counters.acquireTimeouts).toBe(1);
    expect(dispatcher.use()).toEqual({ running: 3, waiting: 0 });
    // It never reached a connection: a freed one goes to nobody, and nothing is sent twice.
    base.answer();
    expect(base.dispatch).toHaveBeenCalledTimes(3);
  });

  it('lets a voice request wait without a bound of its own, and sends it when a connection frees', () => {
    const { base, send } = lane('voice');
    for (let i = 0; i < voiceConnections + voiceOverflow; i++) send();
    const waiting = send();
    vi.advanceTimersByTime(10 * 60_000);
    expect(waiting.ended.error).toBeUndefined();
    base.answer();
    expect(base.dispatch).toHaveBeenCalledTimes(voiceConnections + 1);
    base.held.at(-1)!.handler.onComplete!(null);
    expect(waiting.ended.completed).toBe(true);
  });

  it('drops a waiting request whose signal aborts (a barge-in): out of the queue at once, never sent', () => {
    const { dispatcher, base, counters } = lane('voice');
    for (let i = 0; i < voiceConnections + voiceOverflow; i++) {
      const r = request();
      dispatcher.dispatch(r.options, r.handler);
    }
    const bargedIn = request();
    const controller = new AbortController();
    untilAborted(dispatcher, controller.signal).dispatch(bargedIn.options, bargedIn.handler);
    expect(dispatcher.use().waiting).toBe(1);
    controller.abort(new Error('barge-in'));
    expect(dispatcher.use().waiting).toBe(0);
    expect(bargedIn.ended.error?.message).toBe('barge-in');
    expect(counters.waited).toBe(1);
    // A freed connection goes to nobody: the aborted request is not sent after all.
    base.answer();
    expect(base.dispatch).toHaveBeenCalledTimes(voiceConnections);
    // Any other dispatcher, or no signal, is handed back as it is.
    expect(untilAborted(base as unknown as Agent, controller.signal)).toBe(base);
    expect(untilAborted(dispatcher, undefined)).toBe(dispatcher);
  });

  it('releases a connection once, however the request ends (answered, failed, new-style handler)', () => {
    const { dispatcher, base, send } = lane('background');
    send();
    const held = base.held[0]!.handler;
    held.onError!(new Error('reset'));
    held.onComplete!(null);
    expect(dispatcher.use()).toEqual({ running: 0, waiting: 0 });

    const ended: string[] = [];
    dispatcher.dispatch(request().options, {
      onResponseEnd: () => void ended.push('end'),
      onResponseError: () => void ended.push('error'),
    });
    expect(dispatcher.use().running).toBe(1);
    base.held[1]!.handler.onResponseEnd!({} as never, {});
    expect(ended).toEqual(['end']);
    expect(dispatcher.use().running).toBe(0);
  });

  it('close() lets the waiting go out first, then closes; destroy() fails the waiting', async () => {
    const { dispatcher, base, send } = lane('background');
    for (let i = 0; i < 3; i++) send();
    send();
    let closed = false;
    void dispatcher.close().then(() => (closed = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(closed).toBe(false);
    base.answer();
    await vi.advanceTimersByTimeAsync(0);
    expect(closed).toBe(true);
    expect(base.close).toHaveBeenCalledTimes(1);

    const other = lane('background');
    for (let i = 0; i < 3; i++) other.send();
    const waiting = other.send();
    await other.dispatcher.destroy();
    expect(waiting.ended.error?.message).toMatch(/background lane .* closed/);
    expect(other.base.destroy).toHaveBeenCalledTimes(1);
  });
});
