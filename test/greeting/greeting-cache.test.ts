import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCall } from '../../src/call/caller-call.js';
import { GreetingCache } from '../../src/greeting/greeting-cache.js';
import { GENERIC_GREETING, NEW_CALLER_GREETING } from '../../src/greeting/greeting-text.js';
import { type MemoryFixture, startMemoryFixture } from '../support/memory-fixture.js';
import { toolOptions } from '../support/tool-options.js';

let fx: MemoryFixture;
beforeAll(async () => {
  fx = await startMemoryFixture();
});
afterAll(async () => {
  await fx?.stop();
});

/** A clock the test moves by hand. */
function manualClock(start = Date.now()) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const explicit = (key: string, value: string) => ({
  category: 'identity' as const,
  key,
  value,
  confidence: 1,
  source: 'explicit' as const,
});

describe('greeting cache (two levels)', () => {
  it('counts hits, misses, stale and expired entries with a controllable clock', async () => {
    const clock = manualClock();
    const cache = new GreetingCache({ agent: 'a', ttlMs: 60_000, now: clock.now });
    expect(await cache.get('u1')).toBeUndefined();
    await cache.set('u1', 'Welcome back, Maya!');
    expect(await cache.get('u1')).toMatchObject({ text: 'Welcome back, Maya!', level: 'memory' });
    await cache.invalidate({ userId: 'u1', markStale: true });
    expect(await cache.get('u1')).toMatchObject({ stale: true });
    clock.advance(61_000);
    expect(await cache.get('u1')).toBeUndefined();
    expect(cache.stats()).toMatchObject({ hits: 2, misses: 2, stale: 1, expired: 1, hitRate: 0.5 });
  });

  it('never mixes two callers or two agents, even with look-alike keys', async () => {
    const a = new GreetingCache({ agent: 'shop' });
    const b = new GreetingCache({ agent: 'clinic' });
    await a.set('maya', 'Welcome back, Maya!');
    expect(await a.get('sam')).toBeUndefined();
    expect(await b.get('maya')).toBeUndefined();
    const tricky = new GreetingCache({ agent: 'x:y' });
    await tricky.set('z', 'one');
    const other = new GreetingCache({ agent: 'x' });
    expect(await other.get('y:z')).toBeUndefined();
  });

  it('shares the store level: a second process finds the greeting, and expiry follows the row', async () => {
    const p = await fx.process();
    const user = fx.user();
    try {
      const clock = manualClock();
      const writer = new GreetingCache({ agent: 'shared', store: p.store, ttlMs: 3_600_000 });
      await writer.set(user, 'Welcome back, Ada!');
      const reader = new GreetingCache({ agent: 'shared', store: p.store, now: clock.now });
      expect(await reader.get(user)).toMatchObject({ text: 'Welcome back, Ada!', level: 'store' });
      expect(await reader.get(user)).toMatchObject({ level: 'memory' });
      clock.advance(3_601_000);
      expect(await reader.get(user)).toBeUndefined();
      expect(reader.stats()).toMatchObject({ storeHits: 1, hits: 1, expired: 2 });

      // A separate OS process reads the same row.
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', 'test/support/read-greeting.ts', fx.postgresUrl, 'shared', user],
        { timeout: 20_000 },
      );
      expect(JSON.parse(stdout)).toMatchObject({ text: 'Welcome back, Ada!', level: 'store' });
    } finally {
      await p.close();
    }
  });

  it('invalidates one caller, one agent, or everything', async () => {
    const p = await fx.process();
    const [u1, u2] = [fx.user(), fx.user()];
    try {
      const a = new GreetingCache({ agent: `agent-a-${u1}`, store: p.store });
      const b = new GreetingCache({ agent: `agent-b-${u1}`, store: p.store });
      await Promise.all([a.set(u1, 'Hi one'), a.set(u2, 'Hi two'), b.set(u1, 'Hi three')]);
      expect(await a.invalidate({ userId: u1 })).toBe(1);
      expect(await p.store.getGreeting(`agent-a-${u1}`, u1)).toBeUndefined();
      expect(await p.store.getGreeting(`agent-a-${u1}`, u2)).toBeDefined();
      expect(await a.invalidate()).toBe(1); // the rest of agent a
      expect(await p.store.getGreeting(`agent-b-${u1}`, u1)).toBeDefined();
      expect(await b.invalidate({ allAgents: true, markStale: true })).toBeGreaterThanOrEqual(1);
      expect(await p.store.getGreeting(`agent-b-${u1}`, u1)).toMatchObject({ stale: true });
    } finally {
      await p.close();
    }
  });
});

describe('greetings on entry', () => {
  it('greets a new caller at once with no LLM call', async () => {
    const p = await fx.process();
    try {
      const before = fx.openai.chatCalls;
      const call = await openCall({
        pool: p.pool,
        config: p.config,
        services: p.services,
        userId: fx.user(),
      });
      expect(call.greeting).toMatchObject({ text: NEW_CALLER_GREETING, source: 'new-caller' });
      expect(fx.openai.chatCalls).toBe(before);
      await call.end();
    } finally {
      await p.close();
    }
  });

  it('coalesces concurrent misses for one caller into one LLM call', async () => {
    const p = await fx.process();
    const user = fx.user();
    try {
      await p.store.save(user, [explicit('name', 'Name is Maya')], 'seed', new Date());
      const memories = await p.store.load(user);
      fx.openai.setLatency(200);
      const greetings = await Promise.all(
        Array.from({ length: 10 }, () =>
          p.services.greetings.greet(user, Promise.resolve(memories)),
        ),
      );
      // Nobody waited on the LLM: all got the instant template with the name.
      for (const g of greetings)
        expect(g).toMatchObject({ source: 'template', text: expect.stringContaining('Maya') });
      await p.services.greetings.refresh(user, memories);
      expect(p.services.greetings.stats().llmCalls).toBe(1);
    } finally {
      fx.openai.setLatency(0);
      await p.close();
    }
  });

  it('prepares the next greeting at session end: the next call costs no LLM call', async () => {
    const user = fx.user();
    const first = await fx.process();
    const call = await openCall({
      pool: first.pool,
      config: first.config,
      services: first.services,
      userId: user,
    });
    first.services.processor.enqueue({
      userId: user,
      userText: 'My name is Maya.',
      assistantText: 'Nice to meet you, Maya.',
    });
    const ended = await call.end();
    expect(ended).toMatchObject({ greetingPrepared: true, drain: { drained: true } });
    await first.close();

    const second = await fx.process();
    try {
      const chatCallsBefore = fx.openai.chatCalls;
      const next = await openCall({
        pool: second.pool,
        config: second.config,
        services: second.services,
        userId: user,
      });
      expect(next.greeting.source).toBe('cache');
      expect(next.greeting.text).toMatch(/Maya/);
      expect(second.services.greetings.stats().llmCalls).toBe(0);
      expect(fx.openai.chatCalls).toBe(chatCallsBefore);
      expect(next.memories.length).toBeGreaterThan(0);
      await next.end();
    } finally {
      await second.close();
    }
  });

  it('says the generic greeting within the budget when the store is slow', async () => {
    const p = await fx.process({ GREETING_BUDGET_MS: '150', MEMORY_LOAD_TIMEOUT_MS: '2000' });
    const user = fx.user();
    try {
      p.store.delayMs = 1_000;
      const greeting = await p.services.greetings.greet(user, p.store.load(user));
      expect(greeting).toMatchObject({ text: GENERIC_GREETING, source: 'deadline' });
      expect(greeting.elapsedMs).toBeLessThan(600);
    } finally {
      p.store.delayMs = 0;
      await p.close();
    }
  });

  it('forgetting a caller removes their greeting too', async () => {
    const p = await fx.process();
    const user = fx.user();
    try {
      await p.store.save(user, [explicit('name', 'Name is Bo')], 'seed', new Date());
      await p.services.greetings.refresh(user, await p.store.load(user));
      expect(
        await p.store.getGreeting(p.config.livekit.agentName || 'default', user),
      ).toBeDefined();
      const call = await openCall({
        pool: p.pool,
        config: p.config,
        services: p.services,
        userId: user,
      });
      expect(call.greeting.source).toBe('cache');
      const forget = call.agent.toolCtx.functionTools.forgetMemories!;
      await forget.execute({ keys: [], everything: true }, toolOptions());
      expect(
        await p.store.getGreeting(p.config.livekit.agentName || 'default', user),
      ).toBeUndefined();
      expect(await p.services.greetings.cache.get(user)).toBeUndefined();
      expect(await p.store.load(user)).toHaveLength(0);
    } finally {
      await p.close();
    }
  });
});
