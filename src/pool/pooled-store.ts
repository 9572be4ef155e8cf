/** A store the pool owns: built on it, warmed up beside its services, pinged, closed with it. */
export interface PooledStore {
  /** Which store it is (`postgres`, `supabase`), for logs and stats. */
  readonly kind: string;
  /**
   * A cheap round trip: the health monitor's check of the store (as `memory`).
   *
   * @throws any error when the store does not answer
   */
  ping(): Promise<void>;
  /** Readies what a call's entry uses at once (connections, prepared calls), beyond one ping. */
  warmUp?(): Promise<void>;
  /** Ends its connections; called once, by `pool.close()`. */
  close(): Promise<void>;
}
