/**
 * Test helper run as its own OS process (`node --import tsx`): a job process's memory side built
 * by the product's `buildProcessResources`, on an outbox that cannot be written (MEMORY_DATA_DIR
 * lies under a regular file). Node's default for an unhandled rejection is left as it is: a
 * background promise nobody catches crashes this process.
 *
 * It hands the processor CHILD_TURNS (a JSON list) for CHILD_USER, as a call's turn collector
 * does, lets the production timers run (batch delay, retries) until the turns are processed and
 * CHILD_WAIT_MS more have passed, then prints `{"child":"alive","stats":…}` and exits 0.
 */
import { initializeLogger, log } from '@livekit/agents';
import { loadConfig } from '../../../src/config/config.js';
import { buildProcessResources } from '../../../src/worker/job-process.js';

const say = (event: string, data: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ child: event, ...data })}\n`);

const config = loadConfig();
initializeLogger({ pretty: false, level: config.logLevel });
const { pool, services } = await buildProcessResources(config, log().child({ component: 'child' }));
if (!services) throw new Error('no memory services: is DATABASE_URL set?');

const userId = process.env.CHILD_USER ?? 'nobody';
const turns = JSON.parse(process.env.CHILD_TURNS ?? '[]') as string[];
for (const userText of turns)
  services.processor.enqueue({ userId, userText, assistantText: 'Noted.' });
await services.processor.settled();
say('queued', { turns: turns.length });

const deadline = Date.now() + 20_000;
while (services.processor.stats().turnsProcessed < turns.length) {
  if (Date.now() > deadline) throw new Error('the turns were not processed in 20 s');
  await new Promise((resolve) => setTimeout(resolve, 25));
}
// Retries and timers keep running meanwhile: any unhandled rejection would end the process here.
await new Promise((resolve) => setTimeout(resolve, Number(process.env.CHILD_WAIT_MS ?? 2_000)));
say('alive', { stats: services.processor.stats() });
services.outbox.close();
await pool.close();
process.exit(0);
