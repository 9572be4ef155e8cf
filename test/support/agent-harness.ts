import type { voice } from '@livekit/agents';
import { createAgentSession } from '../../src/call/agent-session.js';
import type { Config } from '../../src/config/config.js';
import type { ConnectionPool } from '../../src/pool/connection-pool.js';

/** The product's session in text mode (the LLM alone: no room, no speech, no VAD). */
export async function startTextSession(
  pool: ConnectionPool,
  config: Config,
  agent: voice.Agent,
): Promise<voice.AgentSession> {
  const session = createAgentSession(pool, config, { mode: 'text' });
  await session.start({ agent });
  return session;
}

/** Runs one user turn to the end and returns its events. */
export async function runTurn(session: voice.AgentSession, userInput: string) {
  const result = session.run({ userInput });
  await result.wait();
  return result;
}
