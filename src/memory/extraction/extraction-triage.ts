/**
 * Why an extraction failed decides where the turns go. "This input can never succeed" (a
 * content refusal, a conversation too long for the model) is set aside in the dead-letter
 * folder. "The service is misconfigured or broken now" (a rotated key, a wrong model, a rate
 * limit, an outage, a timeout) keeps the turns and retries with backoff, reported as the
 * extraction's health. An unusable answer is suspect: the batch is set aside only after several
 * attempts (spread over backoff rounds), each judged right after another batch, or a probe of
 * the service, was answered; if every batch fails the same way, it is the service, and nothing is
 * set aside.
 */
import { LRUCache } from 'lru-cache';
import { poolAcquireErrorOf } from '../../pool/pool-acquire-error.js';
import { ExtractionError } from './extraction-error.js';

export type FailureVerdict = 'service' | 'input' | 'suspect';

/** The extraction service as operators see it in stats and in the pool's health. */
export interface ExtractionHealth {
  status: 'healthy' | 'degraded';
  /** Why, in words, while degraded: e.g. "the LLM rejected the API key (401)". */
  reason?: string;
  since?: string;
}

export interface Triage {
  action: 'retry' | 'dead-letter';
  verdict: FailureVerdict;
  reason: string;
}

/** Attempts of a suspect batch, over backoff rounds, before it may be set aside. */
const SUSPECT_ATTEMPTS = 3;
/** The probe's place among the outcomes: "another batch". */
const PROBE = '(probe)';
/** Latest outcomes kept to tell "this batch fails" from "everything fails". */
const OUTCOMES_KEPT = 32;

const STATUS_REASONS: Record<number, string> = {
  401: 'the LLM rejected the API key (401)',
  403: 'the LLM refused access to the model (403)',
  404: 'the LLM does not know the model or the endpoint (404)',
  429: 'the LLM is rate limiting (429)',
};

/**
 * @param error what `MemoryExtractor.extract` threw
 * @returns whose fault it is, and why in words (no secret, no caller's words)
 */
export function judgeFailure(error: unknown): { verdict: FailureVerdict; reason: string } {
  if (!(error instanceof ExtractionError))
    return { verdict: 'suspect', reason: 'extraction failed unexpectedly' };
  const byStatus = error.status === undefined ? undefined : STATUS_REASONS[error.status];
  // The pool's background lane was full: nothing was sent, so the batch is retried later.
  const acquire = poolAcquireErrorOf(error);
  if (acquire)
    return {
      verdict: 'service',
      reason: `no background connection to the LLM came free within ${acquire.waitedMs} ms`,
    };
  switch (error.reason) {
    case 'misconfigured':
    case 'unavailable':
      return {
        verdict: 'service',
        reason:
          byStatus ??
          (error.status === undefined
            ? `the LLM is unreachable (${error.message})`
            : `the LLM failed (HTTP ${error.status})`),
      };
    case 'rejected':
      return { verdict: 'input', reason: `the LLM refused this conversation (${error.message})` };
    case 'bad-request':
      return { verdict: 'suspect', reason: `the LLM refused the request (HTTP ${error.status})` };
    case 'invalid-output':
      return { verdict: 'suspect', reason: `the LLM answers are unusable (${error.message})` };
  }
}

export class ExtractionTriage {
  /** Per turn id: attempts of its batch that ended with a suspect failure. */
  readonly #suspects = new LRUCache<string, number>({ max: 10_000 });
  /** Latest extraction outcomes, newest last, each named by its batch's first turn. */
  readonly #outcomes: { batch: string; ok: boolean }[] = [];
  #health: ExtractionHealth = { status: 'healthy' };

  /**
   * An extraction of these turns succeeded: the service works.
   * @returns true if the service had been degraded until now
   */
  succeeded(turnIds: readonly string[]): boolean {
    this.#record(turnIds, true);
    this.#forget(turnIds);
    const wasDegraded = this.#health.status !== 'healthy';
    // Attempts that failed while the service itself was failing say nothing about their batch.
    if (wasDegraded) this.#suspects.clear();
    this.#health = { status: 'healthy' };
    return wasDegraded;
  }

  /**
   * An extraction of these turns failed.
   * @param turnIds the batch's turns
   * @param error what the extractor threw
   * @returns retry later (the turns stay queued) or set them aside
   */
  judge(turnIds: readonly string[], error: unknown): Triage {
    const { verdict, reason } = judgeFailure(error);
    const othersWork = this.#latestOtherOutcome(turnIds) === true;
    this.#record(turnIds, false);
    if (verdict === 'input') {
      this.#forget(turnIds);
      return { action: 'dead-letter', verdict, reason };
    }
    if (verdict === 'service') {
      this.#degrade(reason);
      return { action: 'retry', verdict, reason };
    }
    // Nothing else gets through either: it is the service, not this batch, and this attempt
    // does not count against it.
    if (!othersWork) {
      this.#degrade(reason);
      return { action: 'retry', verdict, reason };
    }
    let attempts = 0;
    for (const id of turnIds) {
      const seen = (this.#suspects.get(id) ?? 0) + 1;
      this.#suspects.set(id, seen);
      attempts = Math.max(attempts, seen);
    }
    if (attempts >= SUSPECT_ATTEMPTS) {
      this.#forget(turnIds);
      return { action: 'dead-letter', verdict, reason: `${reason}, ${attempts} attempts` };
    }
    return { action: 'retry', verdict, reason };
  }

  health(): ExtractionHealth {
    return { ...this.#health };
  }

  #degrade(reason: string): void {
    this.#health = {
      status: 'degraded',
      reason,
      since: this.#health.since ?? new Date().toISOString(),
    };
  }

  #forget(turnIds: readonly string[]): void {
    for (const id of turnIds) this.#suspects.delete(id);
  }

  #record(turnIds: readonly string[], ok: boolean): void {
    this.#outcomes.push({ batch: turnIds[0] ?? '', ok });
    if (this.#outcomes.length > OUTCOMES_KEPT) this.#outcomes.shift();
  }

  /**
   * How the latest extraction of another batch ended, if it came after this batch's own last
   * attempt (undefined: nothing new). A success from before says nothing about the service now.
   */
  #latestOtherOutcome(turnIds: readonly string[]): boolean | undefined {
    const latest = this.#outcomes.at(-1);
    return latest === undefined || turnIds.includes(latest.batch) ? undefined : latest.ok;
  }

  /**
   * Whether a failure of this batch now could be judged without more evidence: false when it is
   * suspect and nothing was heard from the service since the batch's last attempt (probe first).
   */
  needsEvidence(turnIds: readonly string[], error: unknown): boolean {
    return (
      judgeFailure(error).verdict === 'suspect' && this.#latestOtherOutcome(turnIds) === undefined
    );
  }

  /** The service's answer to a probe: evidence for the next judgement, like another batch's. */
  probed(ok: boolean): void {
    if (ok) this.succeeded([PROBE]);
    else this.#record([PROBE], false);
  }
}
