/**
 * One turn of a call through the real OpenAI plugin objects, without a room: the caller's
 * utterance transcribed (`STT.recognize`, the plugin's HTTP path), the reply streamed
 * (`LLM.chat`), then spoken (`TTS.synthesize`). What an AgentSession sends, in its order, and
 * the times a caller hears: time to first token, time to first audio frame.
 */
import { llm, type tts } from '@livekit/agents';
import type * as openai from '@livekit/agents-plugin-openai';
import { AudioFrame } from '@livekit/rtc-node';

export interface VoiceParts {
  stt: openai.STT;
  llm: openai.LLM;
  tts: openai.TTS;
}

export interface TurnTimes {
  /** Utterance sent → transcript back. */
  sttMs: number;
  /** Chat request → first content token. */
  ttftMs: number;
  /** Speech request → first audio frame (null: the caller barged in, nothing was spoken). */
  ttsFirstByteMs: number | null;
  /** End of the caller's speech → first audio frame of the answer (null: barged in). */
  firstAudioMs: number | null;
}

const SAMPLE_RATE = 16_000;

/** `seconds` of a quiet tone, as the VAD hands a finished utterance to a non-streaming STT. */
export function utterance(seconds: number): AudioFrame {
  const samples = Math.round(SAMPLE_RATE * seconds);
  const pcm = new Int16Array(samples);
  for (let i = 0; i < samples; i++) pcm[i] = Math.round(3_000 * Math.sin(i / 8));
  return new AudioFrame(pcm, SAMPLE_RATE, 1, samples);
}

/**
 * Runs one turn. With `bargeInAfterChunks`, the caller interrupts once that many content chunks
 * have arrived: the stream is closed (its HTTP request aborted, as the framework does on an
 * interruption) and nothing is synthesized.
 */
export async function runVoiceTurn(
  parts: VoiceParts,
  chat: llm.ChatContext,
  said: AudioFrame,
  bargeInAfterChunks?: number,
): Promise<TurnTimes> {
  const started = performance.now();
  const transcript = await parts.stt.recognize(said);
  const sttMs = performance.now() - started;
  chat.addMessage({ role: 'user', content: transcript.alternatives?.[0]?.text ?? '' });

  const llmStarted = performance.now();
  const stream = parts.llm.chat({ chatCtx: chat });
  let ttftMs = -1;
  let reply = '';
  let chunks = 0;
  for await (const chunk of stream) {
    const content = chunk.delta?.content;
    if (!content) continue;
    if (ttftMs < 0) ttftMs = performance.now() - llmStarted;
    reply += content;
    if (++chunks === bargeInAfterChunks) {
      stream.close();
      break;
    }
  }
  if (ttftMs < 0) throw new Error('the LLM stream ended without content');
  chat.addMessage({ role: 'assistant', content: reply });
  if (bargeInAfterChunks !== undefined)
    return { sttMs, ttftMs, ttsFirstByteMs: null, firstAudioMs: null };

  const ttsStarted = performance.now();
  // A signal per synthesis, as the framework's StreamAdapter passes one: without it the plugin
  // hangs a listener per call on the TTS's lifetime signal.
  const firstFrame = await firstAudio(
    parts.tts.synthesize(reply, undefined, new AbortController().signal),
  );
  return {
    sttMs,
    ttftMs,
    ttsFirstByteMs: firstFrame - ttsStarted,
    firstAudioMs: firstFrame - started,
  };
}

/** When the first audio frame came; the rest of the stream is read, as playback would. */
async function firstAudio(stream: tts.ChunkedStream): Promise<number> {
  let first = -1;
  for await (const audio of stream) if (first < 0 && audio.frame) first = performance.now();
  if (first < 0) throw new Error('the speech stream ended without audio');
  return first;
}

export const newChat = (): llm.ChatContext => llm.ChatContext.empty();
