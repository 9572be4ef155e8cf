/**
 * Recycling by age on fake timers, with production's POOL_MAX_CONNECTION_AGE_MS (an hour): a
 * lane is recycled once its dispatcher is that old, not before; a lane with nothing open is
 * renewed without a word; 0 turns it off; the pool is told which lane to warm again.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConnectionRecycler } from '../../../src/pool/connection-recycler.js';
import { LaneCounters } from '../../../src/pool/lane-dispatcher.js';
import type { PoolLanes } from '../../../src/pool/pool-lanes.js';
import type { LaneName } from '../../../src/pool/pool-stats.js';
import { testConfig } from '../../support/config.js';

const MAX_AGE_MS = testConfig().pool.maxConnectionAgeMs;

/** A lane's rotation: made now, with `open` idle connections and `busy` requests on it. */
function fakeRotation(open: number, busy = 0) {
  const rotation = {
    since: Date.now(),
    open,
    busy,
    retire: vi.fn(() => {
      const report = { idleConnectionsClosed: rotation.open, requestsLeftRunning: rotation.busy };
      rotation.since = Date.now();
      rotation.open = rotation.busy = 0;
      return report;
    }),
  };
  return rotation;
}

function recycler(voice: ReturnType<typeof fakeRotation>, background = fakeRotation(0)) {
  const rotations = { voice, background };
  const counters = { voice: new LaneCounters(), background: new LaneCounters() };
  const lanes = {
    rotation: (lane: LaneName) => rotations[lane],
    counters: (lane: LaneName) => counters[lane],
  } as unknown as PoolLanes;
  const recycled: [LaneName, number][] = [];
  const made = new ConnectionRecycler({
    maxAgeMs: MAX_AGE_MS,
    lanes,
    onRecycled: (lane, closed) => void recycled.push([lane, closed]),
  });
  return { made, recycled, counters };
}

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

describe('ConnectionRecycler', () => {
  it('recycles a lane once its connections are an hour old, not before, and counts them', () => {
    const voice = fakeRotation(2, 1);
    const { made, recycled, counters } = recycler(voice);
    made.start();
    vi.advanceTimersByTime(MAX_AGE_MS - 60_000);
    expect(voice.retire).not.toHaveBeenCalled();
    vi.advanceTimersByTime(60_000);
    expect(voice.retire).toHaveBeenCalledTimes(1);
    // Two idle ones closed at once, the busy one when its request is done: three in all.
    expect(counters.voice.recycled).toBe(3);
    expect(recycled).toEqual([['voice', 2]]);
    made.stop();
  });

  it('renews a lane with nothing open silently, and looks again an hour later', () => {
    const background = fakeRotation(0);
    const { made, recycled, counters } = recycler(fakeRotation(0), background);
    expect(made.recycleAged(Date.now() + MAX_AGE_MS)).toEqual([]);
    expect(background.retire).toHaveBeenCalledTimes(1);
    expect(counters.background.recycled).toBe(0);
    expect(recycled).toEqual([]);
  });

  it('never looks when the age is 0 (off)', () => {
    const voice = fakeRotation(2);
    const counters = { voice: new LaneCounters(), background: new LaneCounters() };
    const made = new ConnectionRecycler({
      maxAgeMs: 0,
      lanes: {
        rotation: () => voice,
        counters: (l: LaneName) => counters[l],
      } as unknown as PoolLanes,
      onRecycled: () => undefined,
    });
    made.start();
    vi.advanceTimersByTime(24 * MAX_AGE_MS);
    expect(voice.retire).not.toHaveBeenCalled();
  });
});
