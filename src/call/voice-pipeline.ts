/** The AgentSession's speech-to-text, LLM and text-to-speech, all on the pool's OpenAI client. */
import * as openai from '@livekit/agents-plugin-openai';
import type { Config } from '../config/config.js';
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
    llm: createConversationLLM(pool, config),
    tts: new openai.TTS({ client, model: config.openai.ttsModel, voice: config.openai.ttsVoice }),
  };
}

/**
 * The conversation's LLM on the pool's client: the voice session's, and text mode's alone.
 * @param pool the process's connection pool
 * @param config the conversation model
 * @returns the plugin's LLM
 */
export function createConversationLLM(pool: ConnectionPool, config: Config): openai.LLM {
  return new openai.LLM({ client: pool.openai, model: config.openai.llmModel });
}
