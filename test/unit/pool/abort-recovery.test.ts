/**
 * Abort recovery with a fake dispatcher's counts: a replacement request goes out only when an
 * answered request is aborted while a request is still running, one at a time, never after close.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AbortRecovery } from '../../../src/pool/abort-recovery.js';

function setUp() {
  const dispatcher = { running: 1, closed: false };
  const recovery = new AbortRecovery({
    runningRequests: () => dispatcher.running,
    closed: () => dispatcher.closed,
  });
  const replacements: (() => void)[] = [];
  const replace = vi.fn(() => new Promise<void>((resolve) => replacements.push(resolve)));
  /** A request: answered (headers in) or not, then aborted. */
  const request = (answered: boolean) => {
    const controller = new AbortController();
    const headersIn = recovery.watch(controller.signal, replace);
    if (answered) headersIn();
    controller.abort();
  };
  return { dispatcher, recovery, replace, replacements, request };
}

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

describe('AbortRecovery', () => {
  it('replaces the connection of an answered request aborted while it runs (a barge-in)', async () => {
    const { recovery, replace, request } = setUp();
    request(true);
    expect(replace).not.toHaveBeenCalled(); // not from inside the abort event
    await vi.advanceTimersByTimeAsync(0);
    expect(replace).toHaveBeenCalledTimes(1);
    expect(recovery.replaced).toBe(1);
  });

  it('replaces nothing for a request aborted before any answer (a timeout on a hanging server)', async () => {
    const { recovery, replace, request } = setUp();
    request(false);
    await vi.advanceTimersByTimeAsync(0);
    expect(replace).not.toHaveBeenCalled();
    expect(recovery.replaced).toBe(0);
  });

  it('replaces nothing when no request is running as the abort lands (a cleanup after the read)', async () => {
    const { dispatcher, recovery, replace, request } = setUp();
    dispatcher.running = 0;
    request(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(replace).not.toHaveBeenCalled();
    expect(recovery.replaced).toBe(0);
  });

  it('sends one replacement at a time; the next abort after it settles gets its own', async () => {
    const { recovery, replace, replacements, request } = setUp();
    request(true);
    request(true);
    await vi.advanceTimersByTimeAsync(0);
    request(true); // while the first replacement is still out
    await vi.advanceTimersByTimeAsync(0);
    expect(replace).toHaveBeenCalledTimes(1);
    replacements[0]!();
    await vi.advanceTimersByTimeAsync(0);
    request(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(replace).toHaveBeenCalledTimes(2);
    expect(recovery.replaced).toBe(2);
  });

  it('a failed replacement is ignored and frees the way for the next', async () => {
    const { recovery, request } = setUp();
    const failing = vi.fn(() => Promise.reject(new Error('ECONNREFUSED')));
    const abortAnswered = () => {
      const controller = new AbortController();
      recovery.watch(controller.signal, failing)();
      controller.abort();
    };
    abortAnswered();
    await vi.advanceTimersByTimeAsync(0);
    abortAnswered();
    await vi.advanceTimersByTimeAsync(0);
    expect(failing).toHaveBeenCalledTimes(2);
    request(false); // (the other kind still replaces nothing)
    expect(recovery.replaced).toBe(2);
  });

  it('sends nothing once the pool is closed, even when it closed between abort and send', async () => {
    const { dispatcher, recovery, replace, request } = setUp();
    request(true);
    dispatcher.closed = true; // close() ran before the deferred send
    await vi.advanceTimersByTimeAsync(0);
    request(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(replace).not.toHaveBeenCalled();
    expect(recovery.replaced).toBe(1); // counted when decided, as before
  });

  it('watches nothing without a signal, or with one already aborted', async () => {
    const { recovery, replace } = setUp();
    recovery.watch(undefined, replace)();
    const aborted = new AbortController();
    aborted.abort();
    recovery.watch(aborted.signal, replace)();
    await vi.advanceTimersByTimeAsync(0);
    expect(replace).not.toHaveBeenCalled();
  });
});
