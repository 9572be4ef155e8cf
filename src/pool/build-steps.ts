/**
 * The pool's build: its warm-up steps (each service's, the memory store's) run side by side,
 * each bounded by one deadline. A slow or failing step never fails the build: it is reported, and the
 * service is left to the health monitor.
 */
import pTimeout from 'p-timeout';
import type { Logger } from '../lib/logger.js';
import { describeError } from '../lib/redact.js';
import type { HealthMonitor } from './health-monitor.js';
import type { PooledStore } from './pooled-store.js';
import type { ServiceRegistry } from './service-registry.js';

/** The health name the memory store's check is kept under. */
export const MEMORY_STORE_HEALTH = 'memory';

export interface WarmUpPlan {
  /** The services; each configured one's health check is already added under its name. */
  services: ServiceRegistry;
  health: HealthMonitor;
  /** false: no requests at all, health stays unknown until checked. */
  warmUp: boolean;
  /** The deadline of a warm-up request beyond the health check (which has the monitor's own). */
  timeoutMs: number;
  /** Builds the memory store; its ping becomes the `memory` health check. */
  memoryStore?: (() => PooledStore) | undefined;
}

/**
 * @param plan - what to warm up
 * @returns one step per service (named after it) and `memory` for the store, for `runBuildSteps`
 */
export function warmUpSteps(plan: WarmUpPlan): Record<string, () => Promise<unknown>> {
  const { health, warmUp } = plan;
  const steps: Record<string, () => Promise<unknown>> = {};
  for (const { name, definition } of plan.services.configured()) {
    steps[name] = async () => {
      if (!warmUp) return;
      // Sent together, so they open as many connections, all on the service's own lane (health
      // checks go through the background lane; no call runs yet). The first one reports
      // failures as the health check; it goes first, so its deadline ends the step before the
      // step's own (one failure, not two).
      const checked = health.checkThrough(name, (signal) => plan.services.ping(name, signal));
      const more = Array.from({ length: definition.warmUpRequests - 1 }, () =>
        plan.services.ping(name, AbortSignal.timeout(plan.timeoutMs)).catch(() => undefined),
      );
      await Promise.all([checked, ...more]);
    };
  }
  const buildStore = plan.memoryStore;
  if (buildStore) {
    steps[MEMORY_STORE_HEALTH] = async () => {
      const store = buildStore();
      health.add(MEMORY_STORE_HEALTH, () => store.ping());
      if (warmUp) await health.check(MEMORY_STORE_HEALTH);
      if (warmUp && store.warmUp) await store.warmUp();
    };
  }
  return steps;
}

export interface BuildStepsOptions {
  /** Each step's deadline, in milliseconds. At least 1 (the configuration allows 100 and up). */
  timeoutMs: number;
  /**
   * Told of a step that threw or missed its deadline; the other steps go on.
   *
   * @param step - the step's name
   * @param error - what it threw, or p-timeout's TimeoutError
   */
  onFailure(step: string, error: unknown): void;
}

/**
 * Runs every step at once and waits for all of them, each to its deadline at most.
 *
 * @param steps - by name; a step starts when this is called
 * @param options - the deadline and where failures go
 * @returns each step's time, in whole milliseconds
 */
export async function runBuildSteps(
  steps: Record<string, () => Promise<unknown>>,
  options: BuildStepsOptions,
): Promise<Record<string, number>> {
  const timings: Record<string, number> = {};
  await Promise.all(
    Object.entries(steps).map(async ([name, step]) => {
      const stepStarted = performance.now();
      try {
        await pTimeout(step(), {
          milliseconds: options.timeoutMs,
          message: `${name} did not get ready within ${options.timeoutMs} ms`,
        });
      } catch (error) {
        options.onFailure(name, error);
      } finally {
        timings[name] = Math.round(performance.now() - stepStarted);
      }
    }),
  );
  return timings;
}

/**
 * Runs the plan's warm-up steps side by side; a failed step is recorded as its health and
 * logged (as a warning, secrets scrubbed).
 *
 * @param plan - what to warm up
 * @param log - where to log, and the secrets to scrub from errors
 * @returns each step's time, in whole milliseconds
 */
export function warmUp(
  plan: WarmUpPlan,
  log: { logger: Logger; secrets: readonly string[] },
): Promise<Record<string, number>> {
  return runBuildSteps(warmUpSteps(plan), {
    timeoutMs: plan.timeoutMs,
    onFailure: (step, error) => {
      plan.health.record(step, error);
      log.logger.warn(
        { service: step, error: describeError(error, log.secrets) },
        'pool step failed; continuing',
      );
    },
  });
}
