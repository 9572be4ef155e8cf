/** The AgentSession's speech-to-text, LLM and text-to-speech, all on the pool's OpenAI client. */
import { voice } from '@livekit/agents';
import * as openai from '@livekit/agents-plugin-openai';
import type { Config } from './config.js';
import type { ConnectionPool } from './pool/connection-pool.js';

export interface VoicePipeline {
  stt: openai.STT;
  llm: openai.LLM;
  tts: openai.TTS;
}

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

export type AgentSessionOverrides = Partial<ConstructorParameters<typeof voice.AgentSession>[0]>;

export function createAgentSession(
  pool: ConnectionPool,
  config: Config,
  overrides: AgentSessionOverrides = {},
): voice.AgentSession {
  return new voice.AgentSession({ ...createVoicePipeline(pool, config), ...overrides });
}
