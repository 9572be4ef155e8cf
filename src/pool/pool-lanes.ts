/**
 * The pool's two lanes: `voice` (the session's STT, LLM and TTS) and `background` (memory
 * extraction, greeting preparation, supabase-js, health checks), each its own dispatchers on one
 * connector, so one accounting counts both and neither can take the other's connections. The
 * per-origin cap (`POOL_CONNECTIONS_PER_ORIGIN`) is split between them.
 */
import type { Config } from '../config/config.js';
import type { Connector } from './connection-accounting.js';
import { type CloseOutcome, DispatcherRotation } from './dispatcher-rotation.js';
import { type DispatcherSettings, type OriginCounts, createDispatcher } from './dispatcher.js';
import { LaneCounters, LaneDispatcher } from './lane-dispatcher.js';
import type { LaneName, LaneStats } from './pool-stats.js';

/** Overflow connections close after this long idle: they serve a burst, not the next turn. */
export const OVERFLOW_IDLE_MS = 1_000;

export const LANES: readonly LaneName[] = ['voice', 'background'];

/** Connections per origin for each lane. */
export interface LaneBudget {
  voiceBase: number;
  voiceOverflow: number;
  background: number;
}

/**
 * Splits the cap: the voice lane's base and overflow as configured, the background lane the
 * rest. When the cap is too small for that, the overflow shrinks first, then the base; each lane
 * keeps at least one connection (so a cap of 1 still gives 2, one per lane).
 *
 * @param pool - the configuration's `pool` section
 * @returns connections per origin for each lane
 */
export function laneBudget(pool: Config['pool']): LaneBudget {
  const cap = pool.connectionsPerOrigin;
  const voiceBase = Math.max(1, Math.min(pool.voiceConnections, cap - 1));
  const voiceOverflow = Math.max(0, Math.min(pool.voiceOverflow, cap - 1 - voiceBase));
  return { voiceBase, voiceOverflow, background: Math.max(1, cap - voiceBase - voiceOverflow) };
}

/**
 * A cap too small for both lanes is legal but starves background work (an `.env` written
 * before the lanes, with the old cap of 10, leaves it 3): said once at the worker's start.
 *
 * @param config - the validated configuration
 * @returns one line naming the variables, or undefined when background work has a connection
 *   for each extraction `MEMORY_CONCURRENCY` runs at once
 */
export function laneBudgetWarning(config: Pick<Config, 'pool' | 'memory'>): string | undefined {
  const { voiceBase, voiceOverflow, background } = laneBudget(config.pool);
  const wanted = config.memory.concurrency;
  if (background >= wanted) return undefined;
  return (
    `POOL_CONNECTIONS_PER_ORIGIN=${config.pool.connectionsPerOrigin} leaves background work ` +
    `${background} connection(s) per origin after the voice lane's ${voiceBase} + ` +
    `${voiceOverflow}, fewer than MEMORY_CONCURRENCY=${wanted}: extractions will queue and fail ` +
    `after POOL_ACQUIRE_TIMEOUT_MS. Raise POOL_CONNECTIONS_PER_ORIGIN to at least ` +
    `${voiceBase + voiceOverflow + wanted} (the default 17 leaves 10), or unset it`
  );
}

export class PoolLanes {
  readonly budget: LaneBudget;
  readonly acquireTimeoutMs: number;
  readonly #rotations: Record<LaneName, DispatcherRotation<LaneDispatcher>>;
  readonly #counters: Record<LaneName, LaneCounters> = {
    voice: new LaneCounters(),
    background: new LaneCounters(),
  };

  /**
   * @param settings - keep-alive, connect timeout and TLS, as every dispatcher of the pool
   * @param connector - the pool's one connector (its accounting sees every lane's connections)
   * @param pool - the sizes and the acquisition timeout
   */
  constructor(settings: DispatcherSettings, connector: Connector, pool: Config['pool']) {
    const budget = (this.budget = laneBudget(pool));
    this.acquireTimeoutMs = pool.acquireTimeoutMs;
    const voice = () =>
      new LaneDispatcher({
        lane: 'voice',
        base: createDispatcher(settings, connector, { connections: budget.voiceBase }),
        baseSize: budget.voiceBase,
        overflow:
          budget.voiceOverflow > 0
            ? createDispatcher(settings, connector, {
                connections: budget.voiceOverflow,
                maxIdleMs: OVERFLOW_IDLE_MS,
              })
            : undefined,
        overflowSize: budget.voiceOverflow,
        // The voice lane waits only behind its own requests: failing a turn would not help it.
        acquireTimeoutMs: null,
        counters: this.#counters.voice,
      });
    const background = () =>
      new LaneDispatcher({
        lane: 'background',
        base: createDispatcher(settings, connector, { connections: budget.background }),
        baseSize: budget.background,
        overflowSize: 0,
        acquireTimeoutMs: pool.acquireTimeoutMs,
        counters: this.#counters.background,
      });
    this.#rotations = {
      voice: new DispatcherRotation(voice),
      background: new DispatcherRotation(background),
    };
  }

  /**
   * @param lane - which lane
   * @returns the dispatcher that lane's new requests go through now
   */
  current(lane: LaneName): LaneDispatcher {
    return this.#rotations[lane].current;
  }

  /**
   * @param lane - which lane
   * @returns its rotation (cleanup and recycling replace its dispatcher)
   */
  rotation(lane: LaneName): DispatcherRotation<LaneDispatcher> {
    return this.#rotations[lane];
  }

  /** @param lane - which lane @returns what it counted over the pool's life */
  counters(lane: LaneName): LaneCounters {
    return this.#counters[lane];
  }

  /** @returns both lanes' current counts per origin, added up */
  perOrigin(): Record<string, OriginCounts> {
    const out: Record<string, OriginCounts> = {};
    for (const lane of LANES)
      for (const [origin, counts] of Object.entries(this.current(lane).stats)) {
        const sum = (out[origin] ??= { connected: 0, free: 0, pending: 0, running: 0, queued: 0 });
        for (const key of Object.keys(sum) as (keyof OriginCounts)[]) sum[key] += counts[key];
      }
    return out;
  }

  /** @returns retired dispatchers of both lanes still finishing their requests */
  get draining(): number {
    return LANES.reduce((n, lane) => n + this.#rotations[lane].draining, 0);
  }

  /**
   * Retires both lanes' dispatchers (cleanup): idle connections close, requests finish.
   *
   * @returns the idle connections closed and the requests left running, both lanes together
   */
  retire(): { idleConnectionsClosed: number; requestsLeftRunning: number } {
    const report = { idleConnectionsClosed: 0, requestsLeftRunning: 0 };
    for (const lane of LANES) {
      // A lane with nothing open has nothing to close: it keeps its dispatcher.
      const current = this.current(lane);
      const open = Object.values(current.stats).some((o) => o.connected + o.pending > 0);
      if (!open && current.use().waiting === 0) continue;
      const retired = this.#rotations[lane].retire();
      report.idleConnectionsClosed += retired.idleConnectionsClosed;
      report.requestsLeftRunning += retired.requestsLeftRunning;
    }
    return report;
  }

  /**
   * @param timeoutMs - as `DispatcherRotation.close`
   * @returns the worse of the two lanes' outcomes
   */
  async close(timeoutMs: number): Promise<CloseOutcome> {
    const outcomes = await Promise.all(LANES.map((l) => this.#rotations[l].close(timeoutMs)));
    return outcomes.find((o) => o !== 'finished') ?? 'finished';
  }

  /** @returns each lane's budget, use and waits */
  stats(): Record<LaneName, LaneStats> {
    const lane = (name: LaneName, base: number, overflow: number): LaneStats => {
      const current = this.current(name);
      const counters = this.#counters[name];
      const connected = Object.values(current.stats).reduce((n, o) => n + o.connected, 0);
      return {
        base,
        overflow,
        connected,
        ...current.use(),
        requests: counters.requests,
        overflowRequests: counters.overflowRequests,
        waited: counters.waited,
        maxWaitMs: counters.maxWaitMs,
        acquireTimeouts: counters.acquireTimeouts,
        acquireTimeoutMs: name === 'voice' ? null : this.acquireTimeoutMs,
        recycled: counters.recycled,
      };
    };
    return {
      voice: lane('voice', this.budget.voiceBase, this.budget.voiceOverflow),
      background: lane('background', this.budget.background, 0),
    };
  }
}
