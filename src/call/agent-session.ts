/**
 * The one session builder: production, `npm run chat` and every test build their session here,
 * and a test replaces only where audio comes from and goes to.
 *
 * What hears the caller: the framework's bundled Silero voice activity detector (in the job
 * process, a few MB, nothing to prewarm), and, with `TURN_DETECTION=model` (the default), its
 * end-of-turn audio model in the shared inference process the worker starts. Preemptive
 * generation stays on (the framework's default, as in agent-starter-node): the reply is drafted
 * while the end of the turn is still being decided.
 */
import { inference, type ipc, log, voice } from '@livekit/agents';
import type { Config } from '../config/config.js';
import { describeError } from '../lib/redact.js';
import type { ConnectionPool } from '../pool/connection-pool.js';
import { createConversationLLM, createVoicePipeline } from './voice-pipeline.js';

export interface AgentSessionOptions {
  /**
   * `voice` (default): speech in and out. `text`: typed turns on the LLM alone, no speech, no
   * voice activity detection (`npm run chat`; tests of what the assistant says).
   */
  mode?: 'voice' | 'text';
  /**
   * Where the end-of-turn model runs: the job's shared inference process
   * (`ctx.inferenceExecutor`). Absent outside a job: the model's prediction degrades to "the turn
   * is over" after the endpointing delay, as the framework does.
   */
  inferenceExecutor?: ipc.InferenceExecutor | undefined;
}

/**
 * @param pool the process's connection pool: every model request goes through it
 * @param config models, voice and `TURN_DETECTION`
 * @param options voice or text, and the inference process
 * @returns a session, not started; its model errors are logged (never a secret) and the
 *   recoverable ones retried
 */
export function createAgentSession(
  pool: ConnectionPool,
  config: Config,
  options: AgentSessionOptions = {},
): voice.AgentSession {
  const session =
    options.mode === 'text'
      ? new voice.AgentSession({
          llm: createConversationLLM(pool, config),
          vad: null,
          turnHandling: { turnDetection: null },
        })
      : new voice.AgentSession({
          ...createVoicePipeline(pool, config),
          // No `vad`: the framework's bundled Silero.
          turnHandling: { turnDetection: turnDetection(config, options.inferenceExecutor) },
        });
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

function turnDetection(
  config: Config,
  executor: ipc.InferenceExecutor | undefined,
): inference.TurnDetector | 'vad' {
  if (config.voice.turnDetection === 'vad') return 'vad';
  // The local model, pinned: left to choose, the framework picks LiveKit Cloud's model in `dev`
  // whenever LiveKit credentials are set, which a self-hosted server cannot answer.
  return new inference.TurnDetector({ version: 'v1-mini', ...(executor ? { executor } : {}) });
}
