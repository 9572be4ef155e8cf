/**
 * Refuses a caller identity the store cannot key before an LLM call or an outbox file is spent
 * on it: counted each time, logged once per kind of problem (never the identity itself).
 */
import type { Logger } from '../../lib/logger.js';
import { type IdentityProblem, checkCallerIdentity } from './caller-identity.js';
import type { ProcessorCounters } from './memory-stats.js';

export class IdentityGate {
  readonly #logger: Logger | undefined;
  readonly #counters: ProcessorCounters;
  readonly #problemsLogged = new Set<IdentityProblem>();

  /**
   * @param logger where the first refusal of each kind is logged
   * @param counters where refusals are counted (`refusedIdentities`)
   */
  constructor(logger: Logger | undefined, counters: ProcessorCounters) {
    this.#logger = logger;
    this.#counters = counters;
  }

  /** @returns whether the store can key this identity */
  admits(userId: string): boolean {
    const check = checkCallerIdentity(userId);
    if (check.ok) return true;
    this.#counters.refusedIdentities++;
    if (!this.#problemsLogged.has(check.problem)) {
      this.#problemsLogged.add(check.problem);
      this.#logger?.warn(
        { problem: check.problem, identityLength: check.length },
        'memory refuses a caller identity the store cannot key',
      );
    }
    return false;
  }
}
