/** What an outbox did with its folder's files, for `pool.stats()` (no caller text). */

export interface OutboxStats {
  /** Entries taken from the folder (unclaimed, or left by an owner whose lease is over). */
  adopted: number;
  /** Files that can never be processed (empty, cut short, garbage, wrong shape, too large). */
  poisoned: number;
  /** Entries the processor set aside (the LLM or the store refused them for good). */
  setAside: number;
  /** Poison or refused entries that could not be moved (left claimed by this outbox). */
  setAsideFailures: number;
  /** Temp files of writers killed mid-write, removed. */
  tempFilesRemoved: number;
  /** Lease renewals that failed (a failing disk: this outbox's entries may be taken over). */
  leaseRenewFailures: number;
  /** The last poison file and why (no caller text). */
  lastPoison?: string;
}

/** The figures counted as files are handled (lease renewals are counted by the lease). */
export type OutboxCounts = Omit<OutboxStats, 'leaseRenewFailures'>;

/** @returns every count at zero */
export function newOutboxCounts(): OutboxCounts {
  return { adopted: 0, poisoned: 0, setAside: 0, setAsideFailures: 0, tempFilesRemoved: 0 };
}
