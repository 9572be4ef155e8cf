/**
 * Recycles connections by age: a long-lived process (prewarmed, kept warm) would otherwise keep
 * its connections for hours and never see a DNS change or a rebalanced front end. When a lane's
 * dispatcher is older than the limit, new requests go through a fresh one and the old one is
 * closed gracefully: its idle connections at once, a connection in use once its request is done
 * (never cut). A lane kept warm gets its replacements at once, in the background.
 *
 * Whole dispatchers, not single connections: undici does not let anyone close one chosen idle
 * connection of a pool. So no connection lives past the limit (plus one look), and one opened
 * late in a dispatcher's life may go a little early: at worst one extra handshake per connection
 * per `maxAgeMs`.
 */
import type { PoolLanes } from './pool-lanes.js';
import { LANES } from './pool-lanes.js';
import type { LaneName } from './pool-stats.js';

export interface RecyclerOptions {
  /** Idle connections older than this are closed, in ms. 0: never. */
  maxAgeMs: number;
  lanes: PoolLanes;
  /**
   * Called after a lane's connections were recycled (the pool warms the voice lane again).
   *
   * @param lane - the lane recycled
   * @param closed - the idle connections it closed
   */
  onRecycled(lane: LaneName, closed: number): void;
}

/** Looks every quarter of the age limit (at most every minute); its timer never keeps the process alive. */
export class ConnectionRecycler {
  readonly #options: RecyclerOptions;
  #timer: NodeJS.Timeout | undefined;

  /** @param options - the age limit, the lanes, and what to do after a recycle */
  constructor(options: RecyclerOptions) {
    this.#options = options;
  }

  /** Idle connections older than this are closed, in ms; 0: never. */
  get maxAgeMs(): number {
    return this.#options.maxAgeMs;
  }

  /** Starts looking; does nothing when `maxAgeMs` is 0 or when already started. */
  start(): void {
    const { maxAgeMs } = this.#options;
    if (this.#timer || maxAgeMs <= 0) return;
    this.#timer = setInterval(() => this.recycleAged(), Math.min(maxAgeMs / 4, 60_000));
    this.#timer.unref();
  }

  /** Stops looking. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Recycles every lane whose dispatcher has reached the age limit, and adds to its `recycled`
   * count the connections that go: idle ones closed now, busy ones (one per running request)
   * closed when their request is done.
   *
   * @param now - the clock (Date.now)
   * @returns the lanes recycled
   */
  recycleAged(now = Date.now()): LaneName[] {
    const { lanes, maxAgeMs } = this.#options;
    const recycled: LaneName[] = [];
    for (const lane of LANES) {
      const rotation = lanes.rotation(lane);
      if (now - rotation.since < maxAgeMs) continue;
      const { idleConnectionsClosed, requestsLeftRunning } = rotation.retire();
      // A running request holds a connection of its own (no pipelining): it closes when done.
      const connections = idleConnectionsClosed + requestsLeftRunning;
      if (connections === 0) continue;
      lanes.counters(lane).recycled += connections;
      recycled.push(lane);
      this.#options.onRecycled(lane, idleConnectionsClosed);
    }
    return recycled;
  }
}
