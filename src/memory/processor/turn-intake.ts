/**
 * How a finished turn enters memory processing without the voice loop waiting: checked, written
 * to the outbox in the background and queued for its caller. When the queues are full the turn
 * goes to disk only (backpressure) and is taken back once there is room.
 */
import { randomUUID } from 'node:crypto';
import type { Turn } from '../outbox/outbox.js';
import type { ExtractionLoop } from './extraction-loop.js';
import type { IdentityGate } from './identity-gate.js';
import type { OutboxAdoption } from './outbox-adoption.js';
import type { ProcessorContext } from './processor-context.js';
import type { TurnQueues } from './turn-queues.js';

/** A finished turn as the call hands it over. */
export interface HeardTurn {
  userId: string;
  userText: string;
  assistantText: string;
}

/** The parts a turn passes through on its way in. */
export interface TurnIntakeParts {
  identities: IdentityGate;
  queues: TurnQueues;
  adoption: OutboxAdoption;
  loop: ExtractionLoop;
}

export class TurnIntake {
  readonly #ctx: ProcessorContext;
  readonly #parts: TurnIntakeParts;
  /** Outbox writes of turns taken in and not yet finished (`settled` waits for them). */
  readonly #writes = new Set<Promise<void>>();

  /**
   * @param ctx the processor's shared parts
   * @param parts the identity check, the queues, the spill's way back and the extraction loop
   */
  constructor(ctx: ProcessorContext, parts: TurnIntakeParts) {
    this.#ctx = ctx;
    this.#parts = parts;
  }

  /**
   * Takes a turn in and returns at once.
   * @param input the caller and what each side said
   * @returns the turn as queued, or undefined when there is nothing to keep (an identity the
   *   store cannot key, or nothing said by the caller)
   */
  take(input: HeardTurn): Turn | undefined {
    const { identities, queues, adoption, loop } = this.#parts;
    if (!identities.admits(input.userId)) return undefined;
    const userText = input.userText.trim();
    if (userText === '') return undefined; // nothing the caller said, nothing to remember
    const turn: Turn = { id: randomUUID(), at: new Date().toISOString(), ...input, userText };
    const { outbox, maxQueuedTurns } = this.#ctx.settings;
    if (queues.size >= maxQueuedTurns) {
      // Backpressure: keep it on disk only; it is replayed when the queue has room again.
      adoption.spilled();
      this.#track(outbox.addTurn(turn, { claim: false }));
      return turn;
    }
    const waiting = queues.push(turn);
    this.#track(outbox.addTurn(turn));
    loop.turnQueued(turn.userId, waiting);
    return turn;
  }

  /** Resolves once every turn taken in so far is on disk (or its write failed, reported). */
  async settled(): Promise<void> {
    await Promise.all([...this.#writes]);
  }

  #track(write: Promise<void>): void {
    const tracked = write.then(
      () => this.#ctx.faults.recovered('outbox', 'memory outbox is writable again'),
      (error: unknown) => this.#ctx.outboxFailed(error),
    );
    this.#writes.add(tracked);
    void tracked.finally(() => this.#writes.delete(tracked));
  }
}
