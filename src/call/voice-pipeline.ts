/** The AgentSession's speech-to-text, LLM and text-to-speech, all on the pool's OpenAI client. */
import { log, voice } from '@livekit/agents';
import * as openai from '@livekit/agents-plugin-openai';
import type { Config } from '../config/config.js';
import { describeError } from '../lib/redact.js';
import type { ConnectionPool } from '../pool/connection-pool.js';

export interface VoicePipeline {
  stt: openai.STT;
  llm: openai.LLM;
  tts: openai.TTS;
}

/**
 * The session's models, built on the pool's OpenAI client (no SDK retries: the framework retries).
 * @param pool the process's connection pool
 * @param config models, voice and the API key (the realtime STT path opens its own socket)
 * @returns the STT, LLM and TTS to hand to an `AgentSession`
 */
export function createVoicePipeline(pool: ConnectionPool, config: Config): VoicePipeline {
  const client = pool.openai;
  return {
    // The HTTP (non-realtime) path uses the pooled client; the realtime path opens its own socket.
    stt: new openai.STT({
      client,
      apiKey: config.openai.apiKey,
      model: config.openai.sttModel,
      useRealtime: config.openai.sttRealtime,
    }),
    llm: new openai.LLM({ client, model: config.openai.llmModel }),
    tts: new openai.TTS({ client, model: config.openai.ttsModel, voice: config.openai.ttsVoice }),
  };
}

type SessionOptions = ConstructorParameters<typeof voice.AgentSession>[0];
/** What a caller of `createAgentSession` replaces; `undefined` removes a part (e.g. no STT in text mode). */
export type AgentSessionOverrides = { [K in keyof SessionOptions]?: SessionOptions[K] | undefined };

/**
 * The one session builder production and tests share: the voice pipeline, plus a listener that
 * logs model errors so the framework retries the recoverable ones.
 * @param pool the process's connection pool
 * @param config the validated configuration
 * @param overrides options replacing the pipeline's (a test's audio I/O; text mode's `stt: undefined`)
 * @returns a session, not started
 */
export function createAgentSession(
  pool: ConnectionPool,
  config: Config,
  overrides: AgentSessionOverrides = {},
): voice.AgentSession {
  const session = new voice.AgentSession({ ...createVoicePipeline(pool, config), ...overrides });
  // The session re-emits every model error as an 'error' event. With no listener, Node's
  // EventEmitter throws it back into the framework's retry loop: a recoverable error (a 429, a
  // reset) then ends the turn unanswered instead of being retried. Listening makes them retried.
  session.on(voice.AgentSessionEventTypes.Error, (event) => {
    const failure = event.error as { type?: string; recoverable?: boolean; error?: unknown };
    log()
      .child({ component: 'voice' })
      .warn(
        {
          type: failure.type,
          recoverable: failure.recoverable,
          error: describeError(failure.error ?? failure, pool.secrets),
        },
        failure.recoverable ? 'model error; retrying' : 'model error',
      );
  });
  return session;
}
