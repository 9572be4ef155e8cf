/**
 * The worker entry (`node dist/agent.js start`). The framework imports this module in the main
 * process and in every job process: clients are built in `prewarm`, never at module top level.
 */
import { type JobContext, type JobProcess, defineAgent } from '@livekit/agents';
import { fileURLToPath } from 'node:url';
import { type JobProcessData, prewarmJobProcess, runJob } from './worker/job-process.js';
import { runWorker } from './worker/worker-cli.js';

export default defineAgent<JobProcessData>({
  prewarm: (proc: JobProcess<JobProcessData>) => prewarmJobProcess(proc),
  entry: (ctx: JobContext<JobProcessData>) => runJob(ctx),
});

// Only the command line starts the CLI: a job process importing this module must not.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runWorker(fileURLToPath(import.meta.url));
}
