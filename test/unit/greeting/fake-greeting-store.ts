/** Test equipment for the greeting unit tests: a clock moved by hand, the store level in a Map. */
import type {
  GreetingAudio,
  GreetingScope,
  GreetingStore,
  StoredGreeting,
} from '../../../src/store/greeting-store.js';

/** A clock the test moves by hand. */
export function manualClock(start = Date.UTC(2026, 0, 1)) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

/** The store level in a Map, on the test's clock; counts its calls; can be made to fail. */
export class FakeGreetingStore implements GreetingStore {
  readonly rows = new Map<string, StoredGreeting>();
  readonly calls = { get: 0, put: 0, putAudio: 0, invalidate: [] as GreetingScope[] };
  failure: Error | undefined;

  constructor(private readonly now: () => number) {}

  /** A row written directly, as another process would have written it. */
  put(agent: string, userId: string, text: string, ttlMs: number, stale = false): void {
    const createdAt = new Date(this.now());
    const expiresAt = new Date(this.now() + ttlMs);
    this.rows.set(JSON.stringify([agent, userId]), { text, createdAt, expiresAt, stale });
  }

  async getGreeting(agent: string, userId: string): Promise<StoredGreeting | undefined> {
    this.calls.get++;
    if (this.failure) throw this.failure;
    return this.rows.get(JSON.stringify([agent, userId]));
  }

  async putGreeting(agent: string, userId: string, text: string, ttlSeconds: number) {
    this.calls.put++;
    if (this.failure) throw this.failure;
    const row = this.rows.get(JSON.stringify([agent, userId]));
    this.put(agent, userId, text, ttlSeconds * 1000);
    // As the real store: the same text keeps its audio, a new one drops it.
    if (row?.text === text && row.audio)
      this.rows.get(JSON.stringify([agent, userId]))!.audio = row.audio;
  }

  async putGreetingAudio(agent: string, userId: string, text: string, audio: GreetingAudio) {
    this.calls.putAudio++;
    if (this.failure) throw this.failure;
    const row = this.rows.get(JSON.stringify([agent, userId]));
    if (row?.text !== text) return false;
    row.audio = audio;
    return true;
  }

  async invalidateGreetings(scope: GreetingScope): Promise<number> {
    this.calls.invalidate.push(scope);
    if (this.failure) throw this.failure;
    return 7; // what the store says it touched, passed on as it is
  }
}
