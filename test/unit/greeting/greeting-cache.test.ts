/**
 * The two levels of the greeting cache, on a fake store and a clock the test moves: where a
 * lookup is answered, what fills the process level and for how long, what each counter counts,
 * what invalidation touches, and a store that fails. The real store's side is in
 * test/greeting/greeting-cache.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { GreetingCache } from '../../../src/greeting/greeting-cache.js';
import { GreetingGenerator } from '../../../src/greeting/greeting-generator.js';
import { GreetingService } from '../../../src/greeting/greeting-service.js';
import { NEW_CALLER_GREETING } from '../../../src/greeting/greeting-text.js';
import { FakeGreetingStore, manualClock } from './fake-greeting-store.js';

const HOUR = 3_600_000;

function setup(ttlMs = HOUR) {
  const clock = manualClock();
  const store = new FakeGreetingStore(clock.now);
  const cache = new GreetingCache({ agent: 'shop', store, ttlMs, now: clock.now });
  return { clock, store, cache };
}

describe('greeting cache: process level first, then the store', () => {
  it('answers from process memory without asking the store', async () => {
    const { store, cache } = setup();
    await cache.set('maya', 'Welcome back, Maya!');
    const getsBefore = store.calls.get;
    expect(await cache.get('maya')).toEqual({
      text: 'Welcome back, Maya!',
      stale: false,
      level: 'memory',
    });
    expect(store.calls.get).toBe(getsBefore);
    expect(cache.stats()).toMatchObject({ hits: 1, storeHits: 0, misses: 0, hitRate: 1 });
  });

  it('a process miss asks the store; its answer fills the process level', async () => {
    const { store, cache } = setup();
    store.put('shop', 'maya', 'Hello again, Maya.', HOUR);
    expect(await cache.get('maya')).toMatchObject({ text: 'Hello again, Maya.', level: 'store' });
    expect(await cache.get('maya')).toMatchObject({ text: 'Hello again, Maya.', level: 'memory' });
    expect(store.calls.get).toBe(1);
    expect(cache.stats()).toMatchObject({ hits: 1, storeHits: 1, misses: 0, size: 1 });
  });

  it("a greeting from the store lives in the process only as long as the store's row", async () => {
    const { clock, store, cache } = setup(24 * HOUR);
    store.put('shop', 'maya', 'Hello again, Maya.', 10_000); // written by another process
    expect(await cache.get('maya')).toMatchObject({ level: 'store' });
    clock.advance(9_000);
    expect(await cache.get('maya')).toMatchObject({ level: 'memory' });
    clock.advance(1_001); // the row's expiry, not the cache's 24 h
    expect(await cache.get('maya')).toBeUndefined();
    expect(store.calls.get).toBe(2);
  });

  it('nothing at either level is a miss, counted once', async () => {
    const { store, cache } = setup();
    expect(await cache.get('sam')).toBeUndefined();
    expect(store.calls.get).toBe(1);
    expect(cache.stats()).toEqual({
      hits: 0,
      storeHits: 0,
      misses: 1,
      stale: 0,
      expired: 0,
      hitRate: 0,
      size: 0,
    });
  });

  it('an expired row in the store is a miss, counted as expired, and not kept', async () => {
    const { clock, store, cache } = setup();
    store.put('shop', 'maya', 'Hello again, Maya.', 5_000);
    clock.advance(5_000);
    expect(await cache.get('maya')).toBeUndefined();
    expect(await cache.get('maya')).toBeUndefined();
    expect(store.calls.get).toBe(2); // nothing was put in process memory
    expect(cache.stats()).toMatchObject({ misses: 2, expired: 2, storeHits: 0, size: 0 });
  });

  it('an entry past its TTL in process memory is counted expired, then the store is asked', async () => {
    const { clock, store, cache } = setup(60_000);
    await cache.set('maya', 'Welcome back, Maya!'); // both levels, 60 s
    clock.advance(60_001);
    expect(await cache.get('maya')).toBeUndefined();
    expect(store.calls.get).toBe(1);
    // Expired at both levels: once in process memory, once in the store, one miss.
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 1, expired: 2 });
  });

  it('a stale greeting is served and counted stale, from either level', async () => {
    const { store, cache } = setup();
    store.put('shop', 'maya', 'Hello again, Maya.', HOUR, true);
    expect(await cache.get('maya')).toMatchObject({ stale: true, level: 'store' });
    expect(await cache.get('maya')).toMatchObject({ stale: true, level: 'memory' });
    expect(cache.stats()).toMatchObject({ stale: 2, hits: 1, storeHits: 1 });
  });
});

describe('greeting cache: invalidation', () => {
  it('marking one caller stale keeps the greeting usable until its own expiry', async () => {
    const { clock, store, cache } = setup(60_000);
    await cache.set('maya', 'Welcome back, Maya!');
    clock.advance(30_000);
    expect(await cache.invalidate({ userId: 'maya', markStale: true })).toBe(7);
    expect(store.calls.invalidate).toEqual([{ agent: 'shop', userId: 'maya', markStale: true }]);
    expect(await cache.get('maya')).toMatchObject({ stale: true, level: 'memory' });
    clock.advance(30_001); // the mark did not renew the TTL
    store.rows.clear();
    expect(await cache.get('maya')).toBeUndefined();
  });

  it('local only: process memory forgets, the store is not asked, 0 rows', async () => {
    const { store, cache } = setup();
    await cache.set('maya', 'Welcome back, Maya!');
    expect(await cache.invalidate({ userId: 'maya', localOnly: true })).toBe(0);
    expect(store.calls.invalidate).toEqual([]);
    // The next lookup goes to the store, which still has the row.
    expect(await cache.get('maya')).toMatchObject({ level: 'store' });
  });

  it('local only with markStale: process memory marks, the store is not asked', async () => {
    const { store, cache } = setup();
    await cache.set('maya', 'Welcome back, Maya!');
    await cache.invalidate({ userId: 'maya', markStale: true, localOnly: true });
    expect(store.calls.invalidate).toEqual([]);
    expect(await cache.get('maya')).toMatchObject({ stale: true, level: 'memory' });
  });

  it("everything: this agent's rows, or every agent's; process memory is emptied", async () => {
    const { store, cache } = setup();
    await Promise.all([cache.set('maya', 'Hi Maya'), cache.set('sam', 'Hi Sam')]);
    expect(await cache.invalidate()).toBe(7);
    expect(cache.size).toBe(0);
    await cache.invalidate({ allAgents: true, markStale: true });
    expect(store.calls.invalidate).toEqual([
      { agent: 'shop', userId: undefined, markStale: false },
      { agent: undefined, userId: undefined, markStale: true },
    ]);
  });

  // With two or more greetings, setting each entry while iterating the live entries never ended.
  it('marking everything stale keeps every entry, marked', async () => {
    const { cache } = setup();
    await Promise.all([cache.set('maya', 'Hi Maya'), cache.set('sam', 'Hi Sam')]);
    await cache.invalidate({ markStale: true, localOnly: true });
    expect(cache.size).toBe(2);
    expect(await cache.get('maya')).toMatchObject({ stale: true });
    expect(await cache.get('sam')).toMatchObject({ stale: true });
  });
});

describe('greeting cache: a store that fails', () => {
  it('a failed lookup rejects with the store error and counts nothing', async () => {
    const { store, cache } = setup();
    store.failure = new Error('store down');
    await expect(cache.get('maya')).rejects.toThrow('store down');
    expect(cache.stats()).toMatchObject({ hits: 0, storeHits: 0, misses: 0, hitRate: null });
  });

  it('a failed write still keeps the greeting in process memory', async () => {
    const { store, cache } = setup();
    store.failure = new Error('store down');
    await expect(cache.set('maya', 'Welcome back, Maya!')).rejects.toThrow('store down');
    expect(await cache.get('maya')).toMatchObject({ level: 'memory' });
  });

  it('the greeting service takes a failed lookup as a miss: the caller is greeted, no throw', async () => {
    const { store, cache } = setup();
    store.failure = new Error('store down');
    const noLlm = () => {
      throw new Error('a new caller needs no LLM');
    };
    const service = new GreetingService({
      cache,
      generator: new GreetingGenerator(noLlm, { model: 'unused' }),
    });
    const greeting = await service.greet('maya', Promise.resolve([]));
    expect(greeting).toMatchObject({ text: NEW_CALLER_GREETING, source: 'new-caller' });
    expect(service.stats()).toMatchObject({
      bySource: { 'new-caller': 1, cache: 0 },
      misses: 0,
      llmCalls: 0,
    });
  });
});
