/**
 * What became of a fact the caller asked to remember. The tool tells the caller exactly this:
 * never "saved" unless the store took it.
 */
export type SaveNowOutcome =
  /** In the store. */
  | { status: 'stored' }
  /** On disk in the outbox: the store is out of reach, and it is stored when it is back. */
  | { status: 'pending' }
  /** Not kept, and never will be. */
  | { status: 'refused'; reason: 'identity' | 'store-refused' }
  /** Not kept: the caller asked to forget after it was said (forgetting is a fence). */
  | { status: 'forgotten' };
