/** The voice assistant: its instructions and the tools a caller can use. */
import { voice } from '@livekit/agents';
import type { ConnectionPool } from './pool/connection-pool.js';
import { createPoolTools, type PoolToolsOptions } from './tools/pool-tools.js';

export const BASE_INSTRUCTIONS = [
  'You are a friendly, concise voice assistant. Your answers are spoken aloud: use short,',
  'natural sentences, no markdown, no lists, no emoji.',
  'When the caller asks how the connection pool, the connections or the services are doing, call',
  'getConnectionPoolStats and say its answer in your own words without dropping any number.',
  'When asked to clean up the connection pool, call cleanupConnectionPool and say what it did.',
].join(' ');

export interface AssistantOptions {
  pool: ConnectionPool;
  /** Extra text appended to the instructions (e.g. what is remembered about the caller). */
  context?: string;
  poolTools?: PoolToolsOptions;
}

export function createAssistant({ pool, context, poolTools }: AssistantOptions): voice.Agent {
  return new voice.Agent({
    instructions: context ? `${BASE_INSTRUCTIONS}\n\n${context}` : BASE_INSTRUCTIONS,
    tools: { ...createPoolTools(pool, poolTools) },
  });
}
