/**
 * A whole call after the room connection, as one function: the caller's memories and greeting,
 * the session on the pool, the greeting spoken, every finished turn to memory; at hang-up, the
 * memory drained and the next greeting prepared. Production passes the room (the framework
 * binds the caller's microphone and the agent's track to the session); a test passes audio in
 * and out instead, and runs everything else exactly as a job does; `npm run chat` passes text:
 * typed turns on the LLM alone, the greeting written into the conversation instead of spoken.
 */
import type { ipc, voice } from '@livekit/agents';
import type { Room } from '@livekit/rtc-node';
import { greetingAudioFrames } from '../greeting/greeting-audio-frames.js';
import { createAgentSession } from './agent-session.js';
import {
  type CallEndReport,
  type CallerCall,
  type OpenCallOptions,
  openCall,
} from './caller-call.js';

/**
 * Where the caller is: a LiveKit room; audio streams (tests, tools without a room); or text
 * (`npm run chat`: turns through `session.run({ userInput })`, no speech, no voice detection).
 */
export type CallConnection =
  | { room: Room }
  | { audio: { input: voice.AudioInput; output: voice.AudioOutput } }
  | { text: true };

export interface RunCallOptions extends OpenCallOptions {
  connection: CallConnection;
  /** The job's shared inference process, where the end-of-turn model runs (`ctx.inferenceExecutor`). */
  inferenceExecutor?: ipc.InferenceExecutor | undefined;
  /** Told as soon as the caller's call exists, before the session starts (a job ends it on shutdown). */
  onOpened?: (call: CallerCall) => void;
}

export interface LiveCall {
  readonly call: CallerCall;
  readonly session: voice.AgentSession;
  /**
   * The caller hangs up: the session closes, then the call ends (memory drained within its
   * deadline, next greeting prepared). A job does not call it: the framework closes the session
   * and the job's shutdown callback ends the call.
   */
  hangUp(): Promise<CallEndReport>;
}

/**
 * @param options the process's pool, config and memory services; the caller's identity (from
 *   the signed token, never from anything said); where the caller is
 * @returns the live call, once the session has started and the greeting is queued to be spoken
 *   (text: once the greeting is in the conversation, as the assistant's first message)
 * @throws what `session.start` throws (the call was opened and handed to `onOpened` first)
 */
export async function runCall(options: RunCallOptions): Promise<LiveCall> {
  const { pool, config, connection } = options;
  // The session is built while the caller's memories and greeting are read: a job process's
  // first build takes some 15 ms, as long as the store's answer.
  const opening = openCall(options);
  const session = createAgentSession(pool, config, {
    mode: 'text' in connection ? 'text' : 'voice',
    inferenceExecutor: options.inferenceExecutor,
  });
  if ('audio' in connection) {
    session.input.audio = connection.audio.input;
    session.output.audio = connection.audio.output;
  }
  const call = await opening;
  options.onOpened?.(call);
  call.attach(session);
  await session.start({
    agent: call.agent,
    ...('room' in connection ? { room: connection.room } : {}),
  });
  // With no audio output the framework needs no TTS: the greeting goes straight into the chat
  // context, so the assistant knows it greeted, and the turn collector skips it as it does spoken.
  // Spoken: from its prepared audio when there is some (no TTS request), else by the TTS.
  const prepared = 'text' in connection ? undefined : call.greeting.audio;
  const greeting = session.say(
    call.greeting.text,
    prepared ? { audio: greetingAudioFrames(prepared) } : undefined,
  );
  if ('text' in connection) await greeting.waitForPlayout();
  return {
    call,
    session,
    async hangUp() {
      await session.close();
      return call.end();
    },
  };
}
