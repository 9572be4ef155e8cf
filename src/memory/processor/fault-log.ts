/**
 * Failures of the memory path's background work, counted per kind and logged once per run: the
 * first failure of a kind is a warning (what failed, what is done about it), the repeats while
 * it lasts are only counted, and the recovery is one info line. An outage of hours is two log
 * lines, not one per retry.
 */
import type { Logger } from '../../lib/logger.js';
import { describeError } from '../../lib/redact.js';

/**
 * - `store`: the memory store did not take a batch (kept in the outbox, retried with backoff);
 * - `extraction`: the LLM could not extract (turns kept, retried with backoff);
 * - `outbox`: a file of the outbox could not be written or removed (disk full, not writable);
 * - `background`: anything else a background task threw (a bug: logged, never unhandled).
 */
export type FaultKind = 'store' | 'extraction' | 'outbox' | 'background';

const KINDS: readonly FaultKind[] = ['store', 'extraction', 'outbox', 'background'];

/** Distinct messages logged within one run of a kind; beyond it repeats are only counted. */
const MESSAGES_PER_RUN = 10;

export interface FaultRun {
  since: string;
  failures: number;
  lastError: string;
}

export class FaultLog {
  readonly #counts: Record<FaultKind, number> = {
    store: 0,
    extraction: 0,
    outbox: 0,
    background: 0,
  };
  readonly #runs = new Map<FaultKind, FaultRun & { logged: Set<string> }>();
  #lastError: string | undefined;

  /**
   * @param logger where the lines go (none: counted only)
   * @param secrets values that never reach a log line
   */
  constructor(
    private readonly logger: Logger | undefined,
    private readonly secrets: readonly string[] = [],
  ) {}

  /**
   * Counts a failure; logs it if it is the first of its run (or a new message in the run).
   * @param kind what failed
   * @param message what it means and what is done about it, e.g. "… kept in the outbox"
   * @param error the cause, described without secrets
   * @param fields more context for the log line (never a secret, never a caller's words)
   * @returns the error as described in logs and stats
   */
  report(
    kind: FaultKind,
    message: string,
    error: unknown,
    fields: Record<string, unknown> = {},
  ): string {
    const described = describeError(error, this.secrets);
    this.#counts[kind]++;
    this.#lastError = described;
    let run = this.#runs.get(kind);
    if (!run) {
      run = {
        since: new Date().toISOString(),
        failures: 0,
        lastError: described,
        logged: new Set(),
      };
      this.#runs.set(kind, run);
    }
    run.failures++;
    run.lastError = described;
    if (!run.logged.has(message) && run.logged.size < MESSAGES_PER_RUN) {
      run.logged.add(message);
      this.logger?.warn({ fault: kind, ...fields, error: described }, message);
    }
    return described;
  }

  /**
   * The kind works again: ends its run with one info line (no line if it was not failing).
   * @param kind what works again
   * @param message e.g. "memory store is back"
   */
  recovered(kind: FaultKind, message: string): void {
    const run = this.#runs.get(kind);
    if (!run) return;
    this.#runs.delete(kind);
    this.logger?.info(
      {
        fault: kind,
        failures: run.failures,
        failingForMs: Date.now() - Date.parse(run.since),
      },
      message,
    );
  }

  /** Failures per kind since the process started. */
  counts(): Record<FaultKind, number> {
    return { ...this.#counts };
  }

  /** Kinds failing now: since when, how often, the last error. */
  active(): Partial<Record<FaultKind, FaultRun>> {
    const active: Partial<Record<FaultKind, FaultRun>> = {};
    for (const kind of KINDS) {
      const run = this.#runs.get(kind);
      if (run)
        active[kind] = { since: run.since, failures: run.failures, lastError: run.lastError };
    }
    return active;
  }

  get total(): number {
    return KINDS.reduce((n, kind) => n + this.#counts[kind], 0);
  }

  get lastError(): string | undefined {
    return this.#lastError;
  }
}
