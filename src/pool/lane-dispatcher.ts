/**
 * One lane of the pool: a budget of connections per origin that only this lane's requests use.
 * It sends a request on its base connections while one is free, then on its overflow (a second,
 * small dispatcher whose connections close once idle), and otherwise holds it in its own queue,
 * so it always knows how long a request waited for a connection and can end the wait at
 * `acquireTimeoutMs`. undici's own queue cannot be bounded or timed per request; this one can.
 */
import type { Agent, Dispatcher } from 'undici';
import { type OriginCounts, originCounts } from './dispatcher.js';
import { PoolAcquireError } from './pool-acquire-error.js';

/** What a lane counts over its life, across the dispatchers cleanup and recycling replace. */
export class LaneCounters {
  requests = 0;
  overflowRequests = 0;
  waited = 0;
  maxWaitMs = 0;
  acquireTimeouts = 0;
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
interface Waiting {
  options: Dispatcher.DispatchOptions;
  handler: Handler;
  since: number;
  timer?: NodeJS.Timeout;
}
interface OriginUse {
  base: number;
  overflow: number;
  queue: Waiting[];
}

/** The handler's last call: after it, the request no longer holds its connection. */
const SETTLING = new Set<PropertyKey>([
  'onComplete',
  'onError',
  'onResponseEnd',
  'onResponseError',
]);

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
   * @returns true: the lane takes every request (it queues rather than pushes back)
   */
  dispatch(options: Dispatcher.DispatchOptions, handler: Handler): boolean {
    this.#options.counters.requests++;
    const use = this.#use(String(options.origin ?? ''));
    const target = this.#room(use);
    if (target) this.#start(use, target, options, handler);
    else this.#wait(use, options, handler);
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
      for (const waiting of use.queue.splice(0)) {
        clearTimeout(waiting.timer);
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

  #wait(use: OriginUse, options: Dispatcher.DispatchOptions, handler: Handler): void {
    const { acquireTimeoutMs, counters, lane } = this.#options;
    const waiting: Waiting = { options, handler, since: performance.now() };
    counters.waited++;
    if (acquireTimeoutMs !== null)
      waiting.timer = setTimeout(() => {
        use.queue.splice(use.queue.indexOf(waiting), 1);
        counters.acquireTimeouts++;
        counters.maxWaitMs = Math.max(counters.maxWaitMs, acquireTimeoutMs);
        fail(handler, new PoolAcquireError(lane, String(options.origin), acquireTimeoutMs));
        this.#checkEmptied();
      }, acquireTimeoutMs);
    use.queue.push(waiting);
  }

  /** A connection came free: the longest-waiting request of that origin takes it. */
  #next(use: OriginUse): void {
    for (let target = this.#room(use); target && use.queue.length > 0; target = this.#room(use)) {
      const waiting = use.queue.shift()!;
      clearTimeout(waiting.timer);
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

/** The same handler, calling `release` once the request is over (answered, failed or aborted). */
function releasingOnSettle(handler: Handler, release: () => void): Handler {
  return new Proxy(handler, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      if (!SETTLING.has(property)) return value.bind(target);
      return (...args: unknown[]) => {
        try {
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        } finally {
          release();
        }
      };
    },
  });
}

/** Ends a request that never reached a connection, in whichever handler style it speaks. */
function fail(handler: Handler, error: Error): void {
  if (handler.onError) handler.onError(error);
  else handler.onResponseError?.(abortedController(error), error);
}

function abortedController(reason: Error): Dispatcher.DispatchController {
  return {
    abort: () => undefined,
    pause: () => undefined,
    resume: () => undefined,
    aborted: true,
    paused: false,
    reason,
  };
}
