/**
 * A forget reaches the greetings: one being written from the facts the caller had when the
 * forget came is never stored (nor one whose store write the forget overtook), and a call that
 * ends with every fact forgotten drops the greeting prepared before it.
 */
import { describe, expect, it, vi } from 'vitest';
import { prepareNextGreeting } from '../../../src/call/next-greeting.js';
import { GreetingCache } from '../../../src/greeting/greeting-cache.js';
import { GreetingGenerator } from '../../../src/greeting/greeting-generator.js';
import { type Greeting, GreetingService } from '../../../src/greeting/greeting-service.js';
import type { MemoryServices } from '../../../src/memory/memory-services.js';
import type { ConnectionPool } from '../../../src/pool/connection-pool.js';
import type { StoredMemory } from '../../../src/store/memory-store.js';
import { testConfig } from '../../support/config.js';
import { FakeGreetingStore, manualClock } from './fake-greeting-store.js';

/** Writes a greeting when the test says so. */
class HeldGenerator extends GreetingGenerator {
  #write: (text: string) => void = () => undefined;

  constructor() {
    super(
      () => {
        throw new Error('no LLM in this test');
      },
      { model: 'unused' },
    );
  }

  override generate(): Promise<string> {
    return new Promise((resolve) => (this.#write = resolve));
  }

  write(text: string): void {
    this.#write(text);
  }
}

const at = new Date();
const NAME: StoredMemory = {
  category: 'identity',
  key: 'name',
  value: 'Name is Maya',
  confidence: 1,
  source: 'explicit',
  createdAt: at,
  updatedAt: at,
};

function setup() {
  const clock = manualClock();
  const store = new FakeGreetingStore(clock.now);
  const cache = new GreetingCache({ agent: 'shop', store, now: clock.now });
  const generator = new HeldGenerator();
  return { store, cache, generator, service: new GreetingService({ cache, generator }) };
}

describe('a forget and the greetings', () => {
  it('a greeting being written when the caller forgets is never stored', async () => {
    const { cache, generator, service } = setup();
    const writing = service.refresh('maya', [NAME]);
    await service.forgotten('maya');
    generator.write('Welcome back, Maya!');
    expect(await writing).toBeUndefined();
    expect(await cache.get('maya')).toBeUndefined();
    // The next one is written afresh, and stored.
    const next = service.refresh('maya', []);
    generator.write('Hello again!');
    expect(await next).toBe('Hello again!');
    expect(await cache.get('maya')).toMatchObject({ text: 'Hello again!' });
  });

  it('a call that ends with every fact forgotten drops the greeting prepared before it', async () => {
    const { store, cache, service } = setup();
    await cache.set('maya', 'Welcome back, Maya!');
    const services = {
      store: { load: vi.fn(async () => []) },
      greetings: service,
    } as unknown as MemoryServices;
    const greeting: Greeting = { text: 'Welcome back, Maya!', source: 'cache', elapsedMs: 1 };
    const report = await prepareNextGreeting(services, 'maya', {
      before: [NAME],
      greeting,
      config: testConfig({}),
      pool: { secrets: [] } as unknown as ConnectionPool,
    });
    expect(report).toEqual({ greetingPrepared: false, greetingAudioPrepared: false });
    // Gone from process memory, and the store is told (this fake store keeps its row).
    expect(cache.size).toBe(0);
    expect(store.calls.invalidate).toEqual([
      expect.objectContaining({ agent: 'shop', userId: 'maya', markStale: false }),
    ]);
  });
});
