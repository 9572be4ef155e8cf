/**
 * Test equipment: a child process that reports to a hub as an idle job process does, then calls
 * `process.exit(0)` without `finish()`, as the framework's idle process does when a drain closes
 * it. Run with `node --import tsx test/support/exiting-reporter.ts <socketPath>`.
 */
import { ProcessReporter } from '../../src/metrics/process-reporter.js';

const socketPath = process.argv[2]!;
const quiet = { debug: () => undefined } as unknown as ConstructorParameters<
  typeof ProcessReporter
>[0]['logger'];
new ProcessReporter({ socketPath, stats: () => undefined, logger: quiet });
// Long enough for the first line to arrive: the hub then knows this process.
setTimeout(() => process.exit(0), 300);
