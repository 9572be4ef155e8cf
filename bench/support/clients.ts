/** The two ways to call OpenAI the benchmark compares: a fresh client per call, and the pool. */
import OpenAI from 'openai';
import { Agent } from 'undici';
import { ConnectionPool } from '../../src/pool/connection-pool.js';
import { TEST_SECRETS, testConfig } from '../../test/support/config.js';
import type { RemoteOpenAI } from './remote-openai.js';

/** An OpenAI client on a dispatcher of the caller's choosing, without the pool's accounting. */
export function clientOn(baseURL: string, dispatcher: Agent): OpenAI {
  return new OpenAI({
    apiKey: TEST_SECRETS.openai,
    baseURL,
    maxRetries: 0,
    fetchOptions: { dispatcher } as never,
  });
}

/** What the seeds do: a new client, so a new dispatcher and new connections, for every call. */
export async function withFreshClient<T>(
  remote: Pick<RemoteOpenAI, 'baseURL' | 'ca'>,
  use: (client: OpenAI) => Promise<T>,
): Promise<T> {
  const dispatcher = new Agent({ connect: { ca: remote.ca } });
  try {
    return await use(clientOn(remote.baseURL, dispatcher));
  } finally {
    await dispatcher.close();
  }
}

export function remotePool(
  remote: Pick<RemoteOpenAI, 'baseURL' | 'ca'>,
  env: Record<string, string> = {},
  options: { warmUp?: boolean } = {},
): Promise<ConnectionPool> {
  return ConnectionPool.create(testConfig({ OPENAI_BASE_URL: remote.baseURL, ...env }), {
    tls: { ca: remote.ca },
    warmUp: options.warmUp ?? true,
  });
}

export const ask = (client: OpenAI, content = 'ping') =>
  client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] });

/** Runs `total` tasks, at most `concurrency` at a time. */
export async function runLimited(
  total: number,
  concurrency: number,
  task: (index: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < total) await task(next++);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Until every connection of the pool is back and free (undici frees a socket a tick late). */
export async function untilIdle(pool: ConnectionPool, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const idle = () =>
    Object.values(pool.stats().connections.perOrigin).every((o) => o.free === o.connected);
  while (!idle() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
}
