/**
 * Before the framework forks anything, the worker makes sure the LiveKit server answers and takes
 * its key. The framework would retry too, but for ~80 s of warnings with stack traces, having
 * started the inference process and prewarmed idle processes (OpenAI warm-ups included) for a
 * server it cannot reach. Here the first failure is one clear line, and each retry a short one,
 * on the framework's own schedule and `LIVEKIT_MAX_RETRY`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../lib/logger.js';
import { redact, redactUrl } from '../lib/redact.js';
import { type LiveKitAccess, type ProbeOutcome, probeLiveKit } from './livekit-probe.js';

export interface WaitForLiveKitOptions {
  /** Retries after the first failure (`LIVEKIT_MAX_RETRY`); 0: one attempt only. */
  maxRetry: number;
  logger: Logger;
  /** Values never to print (the API secret). */
  secrets?: readonly string[];
  /** For tests: the probe and the wait between attempts. */
  probe?: (access: LiveKitAccess) => Promise<ProbeOutcome>;
  wait?: (ms: number) => Promise<unknown>;
}

/**
 * The framework's wait before retry n: 2 s more each time, at most 10 s.
 * @param retry the retry's number, from 1
 * @returns the wait in ms
 */
export function retryDelayMs(retry: number): number {
  return Math.min(retry * 2, 10) * 1_000;
}

/**
 * @param access the LiveKit URL, key and secret
 * @param options retries, where the lines go, and (tests) the probe and the wait
 * @returns undefined once the server accepted a connection; else the last failure, the retries
 *   spent (the caller says so and exits)
 */
export async function waitForLiveKit(
  access: LiveKitAccess,
  options: WaitForLiveKitOptions,
): Promise<Extract<ProbeOutcome, { reached: false }> | undefined> {
  const probe = options.probe ?? ((a: LiveKitAccess) => probeLiveKit(a));
  const wait = options.wait ?? ((ms: number) => sleep(ms));
  for (let retry = 0; ; retry++) {
    const outcome = await probe(access);
    if (outcome.reached) {
      if (retry > 0) options.logger.info(`LiveKit server at ${redactUrl(access.url)} reached`);
      return undefined;
    }
    if (retry >= options.maxRetry) return outcome;
    const delayMs = retryDelayMs(retry + 1);
    const next = `retrying in ${delayMs / 1_000} s (${retry + 1}/${options.maxRetry})`;
    options.logger.warn(
      retry === 0
        ? `${describeFailure(access, outcome, options.secrets)}; ${next}`
        : `still no LiveKit server at ${redactUrl(access.url)} (${redact(outcome.cause, options.secrets)}); ${next}`,
    );
    await wait(delayMs);
  }
}

/**
 * @param access where the worker tried to connect
 * @param failure what the probe found
 * @param secrets values never to print
 * @returns one line: what failed, why, and which variables to check
 */
export function describeFailure(
  access: LiveKitAccess,
  failure: Extract<ProbeOutcome, { reached: false }>,
  secrets: readonly string[] = [],
): string {
  const where = redactUrl(access.url);
  const cause = redact(failure.cause, secrets);
  if (failure.status === 401 || failure.status === 403) {
    return `the LiveKit server at ${where} refused the worker's key (${cause}): check LIVEKIT_API_KEY and LIVEKIT_API_SECRET`;
  }
  return `cannot reach the LiveKit server at ${where} (${cause}): check LIVEKIT_URL and that the server is running`;
}
