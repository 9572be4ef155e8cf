/**
 * The baseline of every client scenario: what LiveKit's agent-starter-node does with
 * `@livekit/agents` 1.9, per session — the OpenAI plugin's objects on their defaults. Each
 * builds its own `OpenAI` client (`maxRetries: 0`) on the SDK's default fetch, i.e. Node's
 * global dispatcher with undici's defaults (4 s keep-alive, no per-origin cap); the API key and
 * base URL come from OPENAI_API_KEY and OPENAI_BASE_URL, as for a user. Nothing is prewarmed but
 * what the framework does by itself: `LLM.prewarm()` (GET /models) when the AgentSession is built.
 *
 * Use only in a process of its own (call-process.ts), started with NODE_EXTRA_CA_CERTS: its
 * global dispatcher is then the process default, untouched, trusting the stand-in's certificate
 * the way a user's CA bundle is trusted.
 */
import * as openai from '@livekit/agents-plugin-openai';
import OpenAI from 'openai';
import type { VoiceParts } from './voice-turn.js';

export interface StarterModels {
  llm: string;
  stt: string;
  tts: string;
}

/**
 * The starter's voice parts. The models are the product's, so both sides send the same requests.
 * STT: the starter's `openai.STT()` defaults to the realtime WebSocket; the HTTP path (a
 * transcription request per utterance, which the product uses) is the one that shares the
 * dispatcher, so the baseline takes it too.
 */
export function starterVoiceParts(models: StarterModels): VoiceParts {
  return {
    stt: new openai.STT({ useRealtime: false, model: models.stt }),
    llm: new openai.LLM({ model: models.llm }),
    tts: new openai.TTS({ model: models.tts }),
  };
}

/**
 * The client the plugin's LLM builds for itself (it is private): the same constructor call, so
 * the same default fetch and global dispatcher. For traffic the plugin objects do not send as one
 * burst (many requests at once), driven through the SDK directly.
 */
export function starterClient(): OpenAI {
  return new OpenAI({ maxRetries: 0, apiKey: process.env.OPENAI_API_KEY });
}
