/**
 * One caller's call in text mode, as a job process runs it: `openCall` (memories and greeting),
 * the real AgentSession on the pool's LLM, every finished turn to the memory processor, and the
 * hang-up (session closed, then the call's end: drain, next greeting).
 */
import { voice } from '@livekit/agents';
import { createAgentSession } from '../../../src/call/agent-session.js';
import { type CallerCall, openCall } from '../../../src/call/caller-call.js';
import type { Logger } from '../../../src/lib/logger.js';
import type { ProcessUnderTest } from '../../support/memory-fixture.js';

export interface TextCall {
  caller: CallerCall;
  /** How long `openCall` took (memories and greeting, each under its deadline). */
  openMs: number;
  session: voice.AgentSession;
  say(text: string): Promise<voice.testing.RunResult>;
  hangUp(): ReturnType<CallerCall['end']>;
}

export async function textCall(
  p: ProcessUnderTest,
  userId: string,
  options: { logger?: Logger } = {},
): Promise<TextCall> {
  const opening = performance.now();
  const caller = await openCall({
    pool: p.pool,
    config: p.config,
    services: p.services,
    userId,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const openMs = performance.now() - opening;
  // The product's session (its error handling included), in text mode: no STT, TTS or VAD.
  const session = createAgentSession(p.pool, p.config, { mode: 'text' });
  await session.start({ agent: caller.agent });
  caller.attach(session);
  let ended: ReturnType<CallerCall['end']> | undefined;
  return {
    caller,
    openMs,
    session,
    async say(text) {
      const result = session.run({ userInput: text });
      await result.wait();
      return result;
    },
    hangUp() {
      ended ??= session.close().then(() => caller.end());
      return ended;
    },
  };
}

/** The assistant's messages in a turn's events. */
export function assistantTexts(result: voice.testing.RunResult): string[] {
  return result.events
    .filter(voice.testing.isChatMessageEvent)
    .map((e) => e.item)
    .filter((m) => m.role === 'assistant')
    .map((m) => m.textContent ?? '');
}

/** Tool outputs as the caller hears them (the framework records them JSON-encoded). */
export function toolOutputs(result: voice.testing.RunResult): { text: string; isError: boolean }[] {
  return result.events.filter(voice.testing.isFunctionCallOutputEvent).map((e) => {
    let text = e.item.output;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'string') text = parsed;
    } catch {
      // not JSON-encoded: as it is
    }
    return { text, isError: e.item.isError };
  });
}

/** The agent's instructions as the model reads them. */
export function instructionsOf(agent: voice.Agent): string {
  const instructions = agent.instructions;
  return typeof instructions === 'string' ? instructions : instructions.value;
}
