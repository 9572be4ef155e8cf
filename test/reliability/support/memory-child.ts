/**
 * Test helper run as its own OS process (`node --import tsx`): a job process's memory side, built
 * by the product's own `buildProcessResources` from the environment (pool, Postgres store from
 * DATABASE_URL, services; the outbox a dead process left is replayed at start).
 *
 * CHILD_MODE=call: opens a call for CHILD_USER and hands it the turns in CHILD_TURNS (a JSON list),
 *   as the session's turn collector does, then waits to be killed. SIGTERM runs what the job's
 *   shutdown callback runs (src/worker/job-process.ts): the call's end (drain within MEMORY_DRAIN_TIMEOUT_MS,
 *   next greeting), the outbox closed, the pool closed; then the process exits 0. (In the worker
 *   the shutdown request reaches a job process over the framework's IPC; here, as a signal.)
 * CHILD_MODE=replay: waits until the outbox is empty, then shuts down the same way.
 *
 * Progress goes to stdout as JSON lines `{"child": "<event>", ...}`, between the product's logs.
 */
import { initializeLogger, log } from '@livekit/agents';
import { openCall } from '../../../src/call/caller-call.js';
import { loadConfig } from '../../../src/config/config.js';
import { buildProcessResources } from '../../../src/worker/job-process.js';

const say = (event: string, data: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ child: event, ...data })}\n`);

const config = loadConfig();
initializeLogger({ pretty: false, level: config.logLevel });
const logger = log().child({ component: 'memory-child' });
const { pool, services } = await buildProcessResources(config, logger);
if (!services) throw new Error('no memory services: is DATABASE_URL set?');

const mode = process.env.CHILD_MODE;
const userId = process.env.CHILD_USER ?? 'nobody';
const call =
  mode === 'call' ? await openCall({ pool, config, services, userId, logger }) : undefined;

let ending: Promise<void> | undefined;
function shutdown(reason: string): Promise<void> {
  ending ??= (async () => {
    say('shutdown', { reason });
    const report = call ? await call.end() : { drain: await services!.processor.drain(1_000) };
    services!.outbox.close();
    await pool.close();
    say('ended', { report, stats: services!.processor.stats() });
    process.exit(0);
  })();
  return ending;
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));

if (call) {
  const turns = JSON.parse(process.env.CHILD_TURNS ?? '[]') as string[];
  for (const userText of turns) {
    services.processor.enqueue({ userId, userText, assistantText: 'Noted.' });
  }
  await services.processor.settled();
  say('queued', { turns: turns.length, pid: process.pid });
} else {
  say('replaying', { pid: process.pid });
  const deadline = Date.now() + 20_000;
  while ((await services.outbox.depth()) > 0) {
    if (Date.now() > deadline) throw new Error('the outbox did not empty in 20 s');
    await new Promise((r) => setTimeout(r, 25));
  }
  await shutdown('replayed');
}
// Stay up until a signal (or the parent) ends this process.
setInterval(() => undefined, 60_000);
