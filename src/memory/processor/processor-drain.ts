/**
 * The end of a processor, at session end: process and store what is queued within a deadline,
 * then stop every timer. What is left stays in the outbox, claimed by this process; once it
 * exits, the next process replays it.
 */
import type { ProcessorContext } from './processor-context.js';

export interface DrainReport {
  /** Everything queued was stored in time, and nothing of this process is left in the outbox. */
  drained: boolean;
  /** Entries left in the outbox for the next process. */
  left: number;
  elapsedMs: number;
}

/** What the drain does with the processor. */
export interface DrainSteps {
  /** Processes everything queued, and waits for it. */
  flush(): Promise<void>;
  /** No more turns, retries or looks for orphans (called at the deadline, or once flushed). */
  close(): void;
  /** Resolves once every turn taken in is on disk. */
  settled(): Promise<void>;
  /** Turns and batches this process still holds in memory. */
  held(): number;
}

/**
 * @param ctx the processor's shared parts
 * @param deadlineMs how long to keep processing; past it, what is left waits in the outbox
 * @param steps the processor's own flush, close, settled and count of what it holds
 * @returns whether everything was stored, and what is left in the outbox; never rejects
 */
export async function drainWithin(
  ctx: ProcessorContext,
  deadlineMs: number,
  steps: DrainSteps,
): Promise<DrainReport> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), deadlineMs);
  });
  const outcome = await Promise.race([steps.flush().then(() => 'done' as const), deadline]);
  clearTimeout(timer);
  steps.close();
  await steps.settled();
  const { outbox, logger } = ctx.settings;
  const counters = ctx.counters;
  // What this process still holds is left too, on disk or not (a disk that is full).
  const held = steps.held();
  const left = Math.max(held, await outbox.claimed().catch(() => held));
  counters.outboxDepth = await outbox.depth().catch(() => counters.outboxDepth);
  const report = {
    drained: outcome === 'done' && left === 0,
    left,
    elapsedMs: Math.round(performance.now() - started),
  };
  logger?.info(report, 'memory processor drained');
  return report;
}
