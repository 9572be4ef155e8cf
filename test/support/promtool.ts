/**
 * Test equipment: `promtool check metrics` (Debian's `prometheus` package), the Prometheus
 * project's own parser and linter. CI installs it (.ci/run); elsewhere a test may skip it only
 * when it is absent and not in CI.
 */
import { spawnSync } from 'node:child_process';

/** @returns whether promtool is on the PATH */
export function promtoolPresent(): boolean {
  return spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * @param exposition the text `/metrics` returned
 * @returns promtool's exit status and what it said (0 and nothing: valid, no lint problem)
 */
export function promtoolCheck(exposition: string): { status: number | null; output: string } {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}`.trim() };
}

/**
 * @param env the environment (`CI` set to anything but "" / "0" / "false" means CI)
 * @returns whether a missing promtool must fail the test rather than skip the check
 */
export function promtoolRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = (env.CI ?? '').trim().toLowerCase();
  return ci !== '' && ci !== '0' && ci !== 'false';
}
