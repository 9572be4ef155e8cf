/**
 * A call's memory in the prompt. The instructions carry the pinned facts and the newest few,
 * set at session start; each turn adds the facts it brings up that the instructions do not
 * hold (see `MemoryAssistant` in assistant.ts). Both come from the call's local index, so a fact
 * stored during the call shows up from the next turn on, and a forgotten one is gone at once:
 * from the turn's facts, and from the instructions (rewritten).
 */
import type { voice } from '@livekit/agents';
import { memoriesForPrompt, memoriesForTurn, memoriesInPrompt } from '../memory/memory-prompt.js';
import type { LiveRecall } from '../memory/recall/live-recall.js';
import type { RecallIndex } from '../memory/recall/recall-index.js';
import { type SelectMemoriesOptions, selectFromIndex } from '../memory/recall/select-memories.js';
import type { StoredMemory } from '../store/memory-store.js';
import { type TurnMemories, assistantInstructions } from './assistant.js';

export interface TurnRecall {
  /** The caller's memories, indexed, kept current during the call. */
  readonly index: RecallIndex;
  /** The instructions' memory part, as the call starts. */
  readonly context: string;
  /** What each turn adds to its prompt. */
  readonly turnMemories: TurnMemories;
  /**
   * After a forget, the agent's instructions are rewritten without the forgotten facts.
   * @param agent the call's assistant (built with `context` and memory tools)
   * @param onError told when the rewrite fails (the turn's facts are current regardless)
   */
  keepInstructionsCurrent(agent: voice.Agent, onError: (error: unknown) => void): void;
  /** At call end: no more updates. */
  close(): void;
}

/**
 * @param recall the process's live recall (the processor keeps it current)
 * @param userId the caller
 * @param memories what the store holds for the caller, loaded at session start
 * @param options the selection's bounds (`topK`: MEMORY_PROMPT_FACTS)
 * @returns the call's recall
 */
export function openTurnRecall(
  recall: LiveRecall,
  userId: string,
  memories: readonly StoredMemory[],
  options: SelectMemoriesOptions,
): TurnRecall {
  const call = recall.open(userId, memories);
  const { index } = call;
  // What the instructions print (memoriesForPrompt keeps at most MAX_PROMPT_MEMORIES of what it
  // is given): only those stay out of the turn blocks. With no turn yet: the pinned facts and
  // the newest (recency breaks the tie).
  let inInstructions = memoriesInPrompt(selectFromIndex(index, '', options));
  let printed = new Set(inInstructions.map(factOf));
  const context = memoriesForPrompt(inInstructions);
  return {
    index,
    context,
    turnMemories: (turnText) =>
      memoriesForTurn(
        selectFromIndex(index, turnText, options).filter((m) => !printed.has(factOf(m))),
      ),
    keepInstructionsCurrent(agent, onError) {
      call.onForgotten(() => {
        const kept = inInstructions.filter((m) => index.holds(m));
        if (kept.length === inInstructions.length) return;
        inInstructions = memoriesInPrompt(kept);
        printed = new Set(inInstructions.map(factOf));
        const text = assistantInstructions(memoriesForPrompt(inInstructions), true);
        agent.updateInstructions(text).catch(onError);
      });
    },
    close: () => call.close(),
  };
}

/** A fact as the prompt prints it: the same category, key and value is the same line. */
function factOf(memory: StoredMemory): string {
  return JSON.stringify([memory.category, memory.key, memory.value]);
}
