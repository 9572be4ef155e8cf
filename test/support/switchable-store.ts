import type { GreetingStore } from '../../src/store/greeting-store.js';
import type { MemoryAndGreetingStore } from '../../src/store/memory-store.js';
import { MemoryStoreError } from '../../src/store/memory-store.js';

/**
 * Test equipment: a real store behind a switch, to take it "down" (every call fails as a lost
 * connection would) or make it slow, and to count the calls that reached it.
 */
export class SwitchableStore implements MemoryAndGreetingStore {
  down = false;
  delayMs = 0;
  calls = {
    save: 0,
    load: 0,
    forget: 0,
    getGreeting: 0,
    putGreeting: 0,
    putGreetingAudio: 0,
    invalidateGreetings: 0,
  };

  constructor(private readonly inner: MemoryAndGreetingStore) {}

  get kind() {
    return this.inner.kind;
  }

  async #gate(call: keyof SwitchableStore['calls']): Promise<void> {
    this.calls[call]++;
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.down)
      throw new MemoryStoreError('connect ECONNREFUSED (store switched off)', 'ECONNREFUSED');
  }

  async save(...args: Parameters<MemoryAndGreetingStore['save']>) {
    await this.#gate('save');
    return this.inner.save(...args);
  }
  async load(...args: Parameters<MemoryAndGreetingStore['load']>) {
    await this.#gate('load');
    return this.inner.load(...args);
  }
  async forget(...args: Parameters<MemoryAndGreetingStore['forget']>) {
    await this.#gate('forget');
    return this.inner.forget(...args);
  }
  async getGreeting(...args: Parameters<GreetingStore['getGreeting']>) {
    await this.#gate('getGreeting');
    return this.inner.getGreeting(...args);
  }
  async putGreeting(...args: Parameters<GreetingStore['putGreeting']>) {
    await this.#gate('putGreeting');
    return this.inner.putGreeting(...args);
  }
  async putGreetingAudio(...args: Parameters<GreetingStore['putGreetingAudio']>) {
    await this.#gate('putGreetingAudio');
    return this.inner.putGreetingAudio(...args);
  }
  async invalidateGreetings(...args: Parameters<GreetingStore['invalidateGreetings']>) {
    await this.#gate('invalidateGreetings');
    return this.inner.invalidateGreetings(...args);
  }
  async ping() {
    if (this.down) throw new MemoryStoreError('store switched off', 'ECONNREFUSED');
    return this.inner.ping();
  }
  close() {
    return this.inner.close();
  }
}
