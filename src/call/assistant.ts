/** The voice assistant: its instructions and the tools a caller can use. */
import { llm, voice } from '@livekit/agents';
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
  'they ask what they told you about something in particular and it is not in front of you, call',
  'searchMemories. When they ask you to forget something or everything, call forgetMemories.',
  'You only ever know about the caller you are talking to.',
].join(' ');

/**
 * What the memory adds to one turn's prompt.
 * @param turnText what the caller said last
 * @returns the text to put before it, or undefined for nothing
 */
export type TurnMemories = (turnText: string) => string | undefined;

export interface AssistantOptions {
  pool: ConnectionPool;
  /** Extra text appended to the instructions (e.g. what is remembered about the caller). */
  context?: string;
  poolTools?: PoolToolsOptions;
  /** The caller's own memory tools (bound to their identity), when memory is available. */
  memoryTools?: ReturnType<typeof createMemoryTools>;
  /** The memories each turn brings up, put in that turn's prompt only. */
  turnMemories?: TurnMemories;
}

/**
 * The turn's memories go in as a system message just before the caller's last message, in the
 * request only: the history keeps none of them, so the prompt stays bounded over a long call,
 * and everything before them (instructions, earlier turns) is the same prefix turn after turn.
 *
 * Why `llmNode` and not `onUserTurnCompleted`: the framework keeps a preemptive generation
 * (started on the interim transcript, on in our sessions) only if `onUserTurnCompleted` leaves
 * the chat context unchanged (agent_activity.ts, `chatCtx.isEquivalent`); adding memories there
 * would throw it away on every turn. `llmNode` runs for the preemptive request too, with the
 * same transcript, so it already carries the memories; it also runs for typed text, for
 * `session.run`, and for the reply after a tool call, which `onUserTurnCompleted` does not see.
 */
class MemoryAssistant extends voice.Agent {
  readonly #turnMemories: TurnMemories;

  constructor(options: voice.AgentOptions<unknown>, turnMemories: TurnMemories) {
    super(options);
    this.#turnMemories = turnMemories;
  }

  override async llmNode(
    chatCtx: llm.ChatContext,
    toolCtx: llm.ToolContext,
    modelSettings: voice.ModelSettings,
  ) {
    const current = withCurrentInstructions(chatCtx, this.instructions);
    return voice.Agent.default.llmNode(
      this,
      withTurnMemories(current, this.#turnMemories),
      toolCtx,
      modelSettings,
    );
  }
}

/**
 * The framework's id for the instructions' system message (`INSTRUCTIONS_MESSAGE_ID` in
 * voice/generation.ts, not exported by the package).
 */
const INSTRUCTIONS_ID = 'lk.agent_task.instructions';

/**
 * The reply after a tool call is generated from the chat context copied for that turn's step
 * (agent_activity.ts), so an `updateInstructions` made by the tool (a forget rewrites them) does
 * not reach it: "forget my name" would be confirmed by a request still holding the name.
 * @param chatCtx the request's chat context (not changed)
 * @param instructions the agent's instructions now
 * @returns a copy with the instructions replaced when they differ, or `chatCtx` itself
 */
function withCurrentInstructions(
  chatCtx: llm.ChatContext,
  instructions: string | llm.Instructions,
): llm.ChatContext {
  if (typeof instructions !== 'string') return chatCtx;
  const at = chatCtx.items.findIndex((i) => i.id === INSTRUCTIONS_ID);
  const held = chatCtx.items[at];
  if (!held || held.type !== 'message' || held.textContent === instructions) return chatCtx;
  const copy = chatCtx.copy();
  copy.items[at] = llm.ChatMessage.create({
    id: INSTRUCTIONS_ID,
    role: 'system',
    content: [instructions],
    createdAt: held.createdAt,
  });
  return copy;
}

/**
 * @param chatCtx the request's chat context (not changed)
 * @param turnMemories what the memory adds for the caller's last message
 * @returns a copy with the memories before the caller's last message, or `chatCtx` itself
 */
function withTurnMemories(chatCtx: llm.ChatContext, turnMemories: TurnMemories): llm.ChatContext {
  const items = chatCtx.items;
  const last = items.findLastIndex((i) => i.type === 'message' && i.role === 'user');
  if (last < 0) return chatCtx;
  const block = turnMemories((items[last] as llm.ChatMessage).textContent ?? '');
  if (block === undefined) return chatCtx;
  const copy = chatCtx.copy();
  copy.items.splice(last, 0, llm.ChatMessage.create({ role: 'system', content: block }));
  return copy;
}

/**
 * @param context text appended to the instructions (what is remembered about the caller)
 * @param withMemory whether the caller has memory tools
 * @returns the instructions: base, memory (when the caller has memory tools), context
 */
export function assistantInstructions(context: string | undefined, withMemory: boolean): string {
  return [BASE_INSTRUCTIONS, withMemory && MEMORY_INSTRUCTIONS, context]
    .filter(Boolean)
    .join('\n\n');
}

/**
 * Builds the assistant a session runs: the base instructions, the memory instructions when the
 * caller has memory tools, the caller's context, and the tools.
 * @param options the pool (for the pool tools), context text, the caller's memory tools and
 *   what memory adds to each turn
 * @returns a framework `voice.Agent`, ready for `session.start({ agent })`
 */
export function createAssistant({
  pool,
  context,
  poolTools,
  memoryTools,
  turnMemories,
}: AssistantOptions): voice.Agent {
  const options = {
    instructions: assistantInstructions(context, memoryTools !== undefined),
    tools: { ...createPoolTools(pool, poolTools), ...memoryTools },
  };
  return turnMemories ? new MemoryAssistant(options, turnMemories) : new voice.Agent(options);
}
