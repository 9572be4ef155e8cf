/** The voice assistant: its instructions and the tools a caller can use. */
import { voice } from '@livekit/agents';
import type { ConnectionPool } from '../pool/connection-pool.js';
import type { createMemoryTools } from '../tools/memory-tools.js';
import { type PoolToolsOptions, createPoolTools } from '../tools/pool-tools.js';

export const BASE_INSTRUCTIONS = [
  'You are a friendly, concise voice assistant. Your answers are spoken aloud: use short,',
  'natural sentences, no markdown, no lists, no emoji.',
  'When the caller asks how the connection pool, the connections or the services are doing, call',
  'getConnectionPoolStats and say its answer in your own words without dropping any number.',
  'When asked to clean up the connection pool, call cleanupConnectionPool and say what it did.',
].join(' ');

export const MEMORY_INSTRUCTIONS = [
  'You remember callers across calls. When the caller asks you to remember something, call',
  'rememberFact. When they ask what you know or remember about them, call recallMemories. When',
  'they ask you to forget something or everything, call forgetMemories. You only ever know about',
  'the caller you are talking to.',
].join(' ');

export interface AssistantOptions {
  pool: ConnectionPool;
  /** Extra text appended to the instructions (e.g. what is remembered about the caller). */
  context?: string;
  poolTools?: PoolToolsOptions;
  /** The caller's own memory tools (bound to their identity), when memory is available. */
  memoryTools?: ReturnType<typeof createMemoryTools>;
}

/**
 * Builds the assistant a session runs: the base instructions, the memory instructions when the
 * caller has memory tools, the caller's context, and the tools.
 * @param options the pool (for the pool tools), context text, and the caller's memory tools
 * @returns a framework `voice.Agent`, ready for `session.start({ agent })`
 */
export function createAssistant({
  pool,
  context,
  poolTools,
  memoryTools,
}: AssistantOptions): voice.Agent {
  const parts = [BASE_INSTRUCTIONS, memoryTools && MEMORY_INSTRUCTIONS, context];
  return new voice.Agent({
    instructions: parts.filter(Boolean).join('\n\n'),
    tools: { ...createPoolTools(pool, poolTools), ...memoryTools },
  });
}
