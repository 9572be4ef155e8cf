import { voice } from '@livekit/agents';
import { createVoicePipeline } from '../../src/call/voice-pipeline.js';
import type { Config } from '../../src/config/config.js';
import type { ConnectionPool } from '../../src/pool/connection-pool.js';

/** A text-only AgentSession on the pool's LLM: no room, no VAD, no turn detector. */
export async function startTextSession(
  pool: ConnectionPool,
  config: Config,
  agent: voice.Agent,
): Promise<voice.AgentSession> {
  const session = new voice.AgentSession({
    llm: createVoicePipeline(pool, config).llm,
    vad: null,
    turnHandling: { turnDetection: null },
  });
  await session.start({ agent });
  return session;
}

/** Runs one user turn to the end and returns its events. */
export async function runTurn(session: voice.AgentSession, userInput: string) {
  const result = session.run({ userInput });
  await result.wait();
  return result;
}
