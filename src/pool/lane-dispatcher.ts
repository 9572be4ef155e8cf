/**
 * One lane of the pool: a budget of connections per origin that only this lane's requests use.
 * It sends a request on its base connections while one is free, then on its overflow (a second,
 * small dispatcher whose connections close once idle), and otherwise holds it in its own queue,
 * so it always knows how long a request waited for a connection and can end the wait at
 * `acquireTimeoutMs`. undici's own queue cannot be bounded or timed per request; this one can.
 */
import type { Agent, Dispatcher } from 'undici';
import { fail, releasingOnSettle } from './dispatch-handler.js';
import { type OriginCounts, originCounts } from './dispatcher.js';
import { PoolAcquireError } from './pool-acquire-error.js';

/** What a lane counts over its life, across the dispatchers cleanup and recycling replace. */
export class LaneCounters {
  /** Requests sent through the lane, in all. */
  requests = 0;
  /** Requests that went out on an overflow connection. */
  overflowRequests = 0;
  /** Requests that found every connection busy and queued (aborted or timed out ones too). */
  waited = 0;
  /** The longest wait for a connection, in ms: till it came, or till the acquisition timeout. */
  maxWaitMs = 0;
  /** Requests failed with {@link PoolAcquireError}. */
  acquireTimeouts = 0;
  /** Idle connections closed and busy ones left to close when done, by recycling for age. */
  recycled = 0;
}

export interface LaneDispatcherOptions {
  /** Named in errors: `voice` or `background`. */
  lane: string;
  /** The lane's kept connections: at most `baseSize` per origin (its `connections`). */
  base: Agent;
  baseSize: number;
  /** Burst connections, at most `overflowSize` per origin; absent (or size 0): no overflow. */
  overflow?: Agent | undefined;
  overflowSize: number;
  /**
   * How long a request may wait for a free connection, in ms; then it fails with
   * {@link PoolAcquireError}. null: no bound of its own (its request timeout ends it).
   */
  acquireTimeoutMs: number | null;
  counters: LaneCounters;
}

type Target = 'base' | 'overflow';
type Handler = Dispatcher.DispatchHandler;
type Options = Dispatcher.DispatchOptions;
interface Waiting {
  options: Dispatcher.DispatchOptions;
  handler: Handler;
  since: number;
  timer?: NodeJS.Timeout;
  /** Leaves the queue: its timer and abort listener go. */
  leave?: () => boolean;
}
interface OriginUse {
  base: number;
  overflow: number;
  queue: Waiting[];
}

export class LaneDispatcher {
  readonly #options: LaneDispatcherOptions;
  readonly #origins = new Map<string, OriginUse>();
  #emptied: (() => void) | undefined;

  /** @param options - the lane's dispatchers, sizes, acquisition timeout and counters */
  constructor(options: LaneDispatcherOptions) {
    this.#options = options;
  }

  /**
   * undici's dispatch protocol (what Node's fetch calls with `{ dispatcher }`).
   *
   * @param options - the request
   * @param handler - its callbacks; told `onError(PoolAcquireError)` when it waited too long
   * @param signal - the request's abort signal ({@link untilAborted}): aborted while it waits, it
   *   leaves the queue at once (fetch saw the abort already); absent, it leaves when a
   *   connection takes it, as in undici's own queue
   * @returns true: the lane takes every request (it queues rather than pushes back)
   */
  dispatch(options: Dispatcher.DispatchOptions, handler: Handler, signal?: AbortSignal): boolean {
    this.#options.counters.requests++;
    const use = this.#use(String(options.origin ?? ''));
    const target = this.#room(use);
    if (target) this.#start(use, target, options, handler);
    else this.#wait(use, options, handler, signal);
    return true;
  }

  /** Per origin: undici's counts of both dispatchers added up, this lane's queue as `queued`. */
  get stats(): Record<string, OriginCounts> {
    const out: Record<string, OriginCounts> = {};
    const agents = [this.#options.base, this.#options.overflow].filter((a) => a !== undefined);
    for (const agent of agents)
      for (const [origin, counts] of Object.entries(originCounts(agent))) {
        const sum = (out[origin] ??= { connected: 0, free: 0, pending: 0, running: 0, queued: 0 });
        for (const key of Object.keys(sum) as (keyof OriginCounts)[]) sum[key] += counts[key];
      }
    for (const [origin, use] of this.#origins)
      if (use.queue.length > 0)
        (out[origin] ??= { connected: 0, free: 0, pending: 0, running: 0, queued: 0 }).queued +=
          use.queue.length;
    return out;
  }

  /** @returns requests holding one of the lane's connections now, and requests waiting for one */
  use(): { running: number; waiting: number } {
    let running = 0;
    let waiting = 0;
    for (const use of this.#origins.values()) {
      running += use.base + use.overflow;
      waiting += use.queue.length;
    }
    return { running, waiting };
  }

  /**
   * Lets the waiting requests go out as connections free up, then closes both dispatchers
   * gracefully (idle connections at once, requests in flight when they finish).
   *
   * @returns settles when everything is closed
   */
  async close(): Promise<void> {
    if (this.use().waiting > 0) await new Promise<void>((resolve) => (this.#emptied = resolve));
    await Promise.all(this.#agents().map((agent) => agent.close().catch(() => undefined)));
  }

  /**
   * Fails the waiting requests and destroys every connection, running requests included.
   *
   * @returns settles when every connection is gone
   */
  async destroy(): Promise<void> {
    for (const [origin, use] of this.#origins)
      for (const waiting of [...use.queue]) {
        waiting.leave?.();
        fail(
          waiting.handler,
          new Error(`the pool's ${this.#options.lane} lane to ${origin} closed`),
        );
      }
    this.#emptied?.();
    await Promise.all(this.#agents().map((agent) => agent.destroy().catch(() => undefined)));
  }

  #agents(): Agent[] {
    return [this.#options.base, this.#options.overflow].filter((a) => a !== undefined);
  }

  #use(origin: string): OriginUse {
    let use = this.#origins.get(origin);
    if (!use) this.#origins.set(origin, (use = { base: 0, overflow: 0, queue: [] }));
    return use;
  }

  #room(use: OriginUse): Target | undefined {
    const { baseSize, overflow, overflowSize } = this.#options;
    if (use.base < baseSize) return 'base';
    if (overflow && use.overflow < overflowSize) return 'overflow';
    return undefined;
  }

  #start(use: OriginUse, target: Target, options: Dispatcher.DispatchOptions, handler: Handler) {
    use[target]++;
    if (target === 'overflow') this.#options.counters.overflowRequests++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      use[target]--;
      this.#next(use);
    };
    const agent = target === 'base' ? this.#options.base : this.#options.overflow!;
    try {
      agent.dispatch(options, releasingOnSettle(handler, release));
    } catch (error) {
      release();
      fail(handler, error as Error);
    }
  }

  #wait(use: OriginUse, options: Options, handler: Handler, signal?: AbortSignal): void {
    const { acquireTimeoutMs, counters, lane } = this.#options;
    const waiting: Waiting = { options, handler, since: performance.now() };
    counters.waited++;
    /** Takes it out of the queue; false when a connection (or destroy) took it first. */
    const leave = (): boolean => {
      const index = use.queue.indexOf(waiting);
      if (index < 0) return false;
      use.queue.splice(index, 1);
      clearTimeout(waiting.timer);
      signal?.removeEventListener('abort', onAbort);
      return true;
    };
    const onAbort = () => {
      if (!leave()) return;
      fail(handler, signal!.reason instanceof Error ? signal!.reason : new Error('aborted'));
      this.#checkEmptied();
    };
    if (acquireTimeoutMs !== null)
      waiting.timer = setTimeout(() => {
        if (!leave()) return;
        counters.acquireTimeouts++;
        counters.maxWaitMs = Math.max(counters.maxWaitMs, acquireTimeoutMs);
        fail(handler, new PoolAcquireError(lane, String(options.origin), acquireTimeoutMs));
        this.#checkEmptied();
      }, acquireTimeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    waiting.leave = leave;
    use.queue.push(waiting);
  }

  /** A connection came free: the longest-waiting request of that origin takes it. */
  #next(use: OriginUse): void {
    for (let target = this.#room(use); target && use.queue.length > 0; target = this.#room(use)) {
      const waiting = use.queue[0]!;
      waiting.leave?.();
      const { counters } = this.#options;
      counters.maxWaitMs = Math.max(
        counters.maxWaitMs,
        Math.round(performance.now() - waiting.since),
      );
      this.#start(use, target, waiting.options, waiting.handler);
    }
    this.#checkEmptied();
  }

  #checkEmptied(): void {
    if (this.#emptied && this.use().waiting === 0) {
      this.#emptied();
      this.#emptied = undefined;
    }
  }
}

/**
 * @param dispatcher - a lane's dispatcher now (or any other, returned as it is)
 * @param signal - the request's abort signal, which Node's fetch does not hand its dispatcher
 * @returns a dispatcher that hands the lane the signal, so an abort ends the request's wait
 */
export function untilAborted<D extends Pick<Dispatcher, 'dispatch'>>(
  dispatcher: D,
  signal: AbortSignal | null | undefined,
): D | Pick<Dispatcher, 'dispatch'> {
  if (!signal || !(dispatcher instanceof LaneDispatcher)) return dispatcher;
  return { dispatch: (options, handler) => dispatcher.dispatch(options, handler, signal) };
}
