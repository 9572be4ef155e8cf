/** The OpenAI API as the pool carries it: one client for the voice plugins and for memory work. */
import OpenAI from 'openai';
import type { Config } from '../config/config.js';
import type { PoolService } from './pool-service.js';

export const openaiService: PoolService<OpenAI> = {
  name: 'openai',
  // The session's STT, LLM and TTS: background work never takes these connections.
  lane: 'voice',
  isConfigured: () => true,
  build: ({ config, fetch }) =>
    new OpenAI({
      apiKey: config.openai.apiKey,
      baseURL: config.openai.baseURL,
      // The voice plugins expect a client without SDK retries: the framework retries.
      maxRetries: 0,
      timeout: config.openai.timeoutMs,
      fetch,
    }),
  ping: (client, _context, signal) => client.models.list(signal ? { signal } : {}),
  // Two at once, so two connections: a voice turn's TTS request starts while its LLM stream
  // still holds the first one.
  warmUpRequests: 2,
  keepWarmConnections: 2,
  // A barge-in aborts the streamed reply: the next turn should not pay a new handshake.
  replaceAfterAbort: true,
};

/**
 * The client for background work (memory extraction, greetings): SDK retries added.
 *
 * @param client - the pool's OpenAI client on the background lane (the registry's
 *   `backgroundClient`), so background work never takes the voice lane's connections
 * @param config - for the request timeout
 * @returns a client that retries twice with the SDK's backoff
 */
export function backgroundClient(client: OpenAI, config: Config): OpenAI {
  return client.withOptions({ maxRetries: 2, timeout: config.openai.timeoutMs });
}
