/** The shared level of the greeting cache: a row per (agent, caller) with its expiry, in the store. */

export interface StoredGreeting {
  text: string;
  createdAt: Date;
  expiresAt: Date;
  /** Marked when the caller's memories changed since it was written: usable, but due a refresh. */
  stale: boolean;
}

/** Which greetings an invalidation touches: absent agent or user means all of them. */
export interface GreetingScope {
  agent?: string | undefined;
  userId?: string | undefined;
  markStale?: boolean;
}

export interface GreetingStore {
  /** The greeting stored for a caller, expired or not (the cache counts expiries). One round trip. */
  getGreeting(agent: string, userId: string): Promise<StoredGreeting | undefined>;
  putGreeting(agent: string, userId: string, text: string, ttlSeconds: number): Promise<void>;
  /**
   * Drops greetings: one caller (`userId`), one agent (`agent`), or all (neither). With
   * `markStale` they are kept but flagged for a refresh. Returns rows affected.
   */
  invalidateGreetings(scope: GreetingScope): Promise<number>;
}
