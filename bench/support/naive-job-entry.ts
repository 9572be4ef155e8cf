/**
 * What a job process without prewarm does on entry, the way agent-starter-node does it with
 * memory added naively: it builds its clients there (the SDK's defaults, a dispatcher with
 * undici's defaults standing for a fresh process's global one), fires the framework's
 * `LLM.prewarm()` (a `GET /models`, not awaited), reads the caller's memories with a plain
 * SELECT on a new Postgres client, then speaks a greeting. No pool, no store warm-up.
 */
import OpenAI from 'openai';
import postgres from 'postgres';
import { Agent } from 'undici';
import type { Config } from '../../src/config/config.js';
import { GENERIC_GREETING } from '../../src/greeting/greeting-text.js';
import { TEST_SECRETS } from '../../test/support/config.js';
import type { RemoteOpenAI } from './remote-openai.js';

/**
 * @param options the OpenAI front (its base URL and the CA a real front would not need), the
 *   Postgres URL, the config's speech settings and the caller
 * @returns when the greeting's speech has been answered; everything it built is closed
 */
export async function naiveJobEntry(options: {
  remote: Pick<RemoteOpenAI, 'baseURL' | 'ca'>;
  postgresUrl: string;
  config: Config;
  userId: string;
}): Promise<void> {
  const dispatcher = new Agent({ connect: { ca: options.remote.ca } });
  const client = () =>
    new OpenAI({
      apiKey: TEST_SECRETS.openai,
      baseURL: options.remote.baseURL,
      fetchOptions: { dispatcher } as never,
    });
  const sql = postgres(options.postgresUrl, { onnotice: () => undefined });
  try {
    const llm = client();
    const prewarm = llm.models.list().catch(() => undefined);
    const memories = await sql<{ key: string; value: string }[]>`
      select key, value from public.memories
      where user_id = ${options.userId} and valid_to is null
      order by updated_at desc limit 50`;
    const greeting = memories.length ? `Welcome back! ${memories[0]!.value}` : GENERIC_GREETING;
    const speech = await client().audio.speech.create({
      model: options.config.openai.ttsModel,
      voice: options.config.openai.ttsVoice,
      input: greeting,
      response_format: 'pcm',
    });
    await speech.arrayBuffer();
    await prewarm;
  } finally {
    await Promise.all([sql.end({ timeout: 2 }), dispatcher.close()]);
  }
}
