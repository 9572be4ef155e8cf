/**
 * A call's memory in the prompt. The instructions carry the pinned facts and the newest few,
 * set at session start; each turn adds the facts it brings up that the instructions do not
 * hold (see `MemoryAssistant` in assistant.ts). Both come from the call's local index, so a fact
 * stored during the call shows up from the next turn on, and a forgotten one is gone at once:
 * from the turn's facts, and from the instructions (rewritten). A new value stored over a printed
 * fact (home_city Lyon over Paris) rewrites the instructions too, with the new value in its place:
 * the prompt never carries the stale one.
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
   * After a forget, the agent's instructions are rewritten without the forgotten facts; after a
   * new value is stored over a printed fact, with the new value instead of the old.
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
  let printedIds = new Set(inInstructions.map(idOf));
  const context = memoriesForPrompt(inInstructions);
  /** Sets what the instructions print; false when it is what they print already. */
  const reprint = (next: StoredMemory[]): boolean => {
    const changed =
      next.length !== inInstructions.length || next.some((m, i) => m !== inInstructions[i]);
    if (!changed) return false;
    inInstructions = memoriesInPrompt(next);
    printed = new Set(inInstructions.map(factOf));
    printedIds = new Set(inInstructions.map(idOf));
    return true;
  };
  return {
    index,
    context,
    turnMemories: (turnText) =>
      memoriesForTurn(
        selectFromIndex(index, turnText, options).filter((m) => !printed.has(factOf(m))),
      ),
    keepInstructionsCurrent(agent, onError) {
      const rewrite = () => {
        const text = assistantInstructions(memoriesForPrompt(inInstructions), true);
        agent.updateInstructions(text).catch(onError);
      };
      call.onForgotten(() => {
        if (reprint(inInstructions.filter((m) => index.holds(m)))) rewrite();
      });
      call.onStored((stored) => {
        // Cheap for most stores: only a fact with a printed category and key can make them stale.
        const news = new Map<string, StoredMemory>();
        for (const m of stored) if (printedIds.has(idOf(m)) && index.holds(m)) news.set(idOf(m), m);
        if (news.size === 0) return;
        // The new value takes the old one's place. A value confirmed again changes no line: the
        // held object is kept (a later forget's `holds` check), the instructions are not rewritten.
        const next = inInstructions.map((m) => news.get(idOf(m)) ?? m);
        if (next.every((m, i) => factOf(m) === factOf(inInstructions[i]!))) inInstructions = next;
        else if (reprint(next)) rewrite();
      });
    },
    close: () => call.close(),
  };
}

/** A fact's identity: one current value per category and key. */
function idOf(memory: StoredMemory): string {
  return JSON.stringify([memory.category, memory.key]);
}

/** A fact as the prompt prints it: the same category, key and value is the same line. */
function factOf(memory: StoredMemory): string {
  return JSON.stringify([memory.category, memory.key, memory.value]);
}
