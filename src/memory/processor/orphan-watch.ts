/**
 * A process killed after this one started leaves claims whose lease runs out a TTL later, and
 * entries left on disk for want of room wait for a look: after the first replay, look again
 * every lease TTL, in the background, for as long as this process runs (its timer never keeps
 * the process alive).
 */
import { DEFAULT_LEASE_TTL_MS } from '../outbox/outbox.js';
import type { OutboxAdoption } from './outbox-adoption.js';
import type { ProcessorContext } from './processor-context.js';

export class OrphanWatch {
  readonly #ctx: ProcessorContext;
  readonly #adoption: OutboxAdoption;
  readonly #flush: () => Promise<void>;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  /**
   * @param ctx the processor's shared parts
   * @param adoption takes the orphans
   * @param flush processes what was taken
   */
  constructor(ctx: ProcessorContext, adoption: OutboxAdoption, flush: () => Promise<void>) {
    this.#ctx = ctx;
    this.#adoption = adoption;
    this.#flush = flush;
  }

  /** Starts looking every lease TTL (once; later calls, or calls after `stop`, do nothing). */
  start(): void {
    if (this.#timer || this.#stopped) return;
    this.#timer = setInterval(() => void this.#look(), DEFAULT_LEASE_TTL_MS);
    this.#timer.unref();
  }

  /** No more looks (the processor is closed). */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
  }

  async #look(): Promise<void> {
    if (this.#stopped) return;
    try {
      const entries = await this.#adoption.adoptOrphans();
      if (entries === 0) return;
      this.#ctx.settings.logger?.info(
        { entries },
        'adopting outbox entries left by another process',
      );
      await this.#flush();
    } catch (error) {
      this.#ctx.outboxFailed(error);
    }
  }
}
