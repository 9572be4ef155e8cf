/**
 * A call that arrives late: a prewarmed process waits for its call while the API front end
 * closes idle connections without a hint (real front ends: after tens of seconds). Scaled down
 * so the bench stays short: the stand-in closes a connection after T = 3 s idle, and the pool
 * keeps warm every POOL_KEEP_WARM_MS = 2 s (production: 20 s against a T of tens of seconds).
 * The call reaches each side at 0.5 T, 3 T and 10 T after prewarm; all three run at once.
 *
 * Baseline, the starter's way: the session's client is built on entry, on undici's defaults
 * (what the OpenAI SDK's default fetch uses), and the framework's LLM prewarm (a GET /models,
 * not awaited) goes out as the session starts; the first request is the greeting's speech.
 * Ours: the pool built in prewarm, kept warm while idle; the same first request.
 */
import type OpenAI from 'openai';
import { Agent } from 'undici';
import { type Row, type Scenario, ratio, round } from '../harness.js';
import { clientOn, remotePool } from '../support/clients.js';
import { type RemoteOpenAI, startRemoteOpenAI } from '../support/remote-openai.js';

const SERVER_IDLE_MS = 3_000;
/** The product's keep-warm, scaled as the front end's idle timeout is. */
const KEEP_WARM_MS = 2_000;
const ARRIVALS = [0.5, 3, 10] as const;

const greet = (client: OpenAI) =>
  client.audio.speech.create({ model: 'gpt-4o-mini-tts', voice: 'alloy', input: 'Welcome back!' });

interface FirstRequest {
  ms: number;
  connections: number;
}

/** The first request of a call: time to its answer, and the connections opened for it. */
async function firstRequest(remote: RemoteOpenAI, send: () => Promise<Response>) {
  const before = remote.proxy.accepted;
  const started = performance.now();
  const response = await send(); // the first audio byte is on its way
  const ms = performance.now() - started;
  // Read to the end: an unread body holds its connection (and a dispatcher's close) forever.
  await response.arrayBuffer();
  return {
    ms,
    connections: remote.proxy.accepted - before,
  } satisfies FirstRequest;
}

async function arrival(rttMs: number, afterT: number) {
  const options = { idleTimeoutMs: SERVER_IDLE_MS };
  const [starterSide, oursSide] = await Promise.all([
    startRemoteOpenAI(rttMs, options),
    startRemoteOpenAI(rttMs, options),
  ]);
  const pool = await remotePool(oursSide, { POOL_KEEP_WARM_MS: String(KEEP_WARM_MS) });
  const dispatcher = new Agent({ connect: { ca: starterSide.ca } }); // undici defaults
  try {
    const warmBefore = pool.stats().connections.keepWarmRequests;
    await new Promise((resolve) => setTimeout(resolve, afterT * SERVER_IDLE_MS));
    const idleMinutes = (afterT * SERVER_IDLE_MS) / 60_000;
    const keepWarmPerIdleMinute =
      (pool.stats().connections.keepWarmRequests - warmBefore) / idleMinutes;
    const [starter, ours] = await Promise.all([
      firstRequest(starterSide, () => {
        const client = clientOn(starterSide.baseURL, dispatcher);
        void client.models.list().catch(() => undefined); // the framework's LLM prewarm
        return greet(client);
      }),
      firstRequest(oursSide, () => greet(pool.openai)),
    ]);
    return { afterT, starter, ours, keepWarmPerIdleMinute };
  } finally {
    await pool.close();
    await dispatcher.close();
    await Promise.all([starterSide.close(), oursSide.close()]);
  }
}

export const lateCall: Scenario = {
  name: 'late-call',
  async run({ rttMs, progress }) {
    progress(`calls at ${ARRIVALS.join(', ')} × T after prewarm (T = ${SERVER_IDLE_MS} ms)`);
    const results = await Promise.all(ARRIVALS.map((afterT) => arrival(rttMs, afterT)));
    return results.map(({ afterT, starter, ours, keepWarmPerIdleMinute }): Row => {
      // Fails if the pool's connections went cold while idle (keep-warm off, or slower than
      // the front end's idle timeout): its first request then opens a connection too. Seen
      // once with POOL_KEEP_WARM_MS=0: FAIL at 3 T and 10 T (1 new connection each).
      const pass = ours.connections === 0;
      return {
        scenario: 'late-call',
        measure: `call ${afterT} T after prewarm (T = front end idle timeout), first request: time, new connections`,
        baseline: {
          label: 'starter: client on entry, undici defaults',
          figures: { ms: round(starter.ms, 1), connections: starter.connections },
        },
        ours: {
          // At production's 20 s the same requests spread over 10 times the time.
          label: `pool kept warm (${round((keepWarmPerIdleMinute * KEEP_WARM_MS) / 20_000, 1)} GETs per idle minute at production's 20 s)`,
          figures: { ms: round(ours.ms, 1), connections: ours.connections },
        },
        ratio: ratio(ours.ms, starter.ms),
        target: '0 new connections',
        pass,
      };
    });
  },
};
