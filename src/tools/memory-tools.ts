/**
 * The caller's own memory tools: remember, recall, forget. The caller is fixed when the tools
 * are built (the LiveKit participant identity from the signed token); no tool takes a user id,
 * so nothing said in a call can reach another caller's memories.
 */
import { llm } from '@livekit/agents';
import pTimeout, { TimeoutError } from 'p-timeout';
import { z } from 'zod';
import { MAX_VALUE_LENGTH, extractedMemorySchema } from '../memory/extraction/extraction-prompt.js';
import {
  MAX_SPOKEN_MEMORIES,
  MEMORY_LOAD_LIMIT,
  foundMemoriesForSpeech,
  memoriesForSpeech,
} from '../memory/memory-prompt.js';
import type { MemoryProcessor } from '../memory/processor/processor.js';
import type { SaveNowOutcome } from '../memory/processor/save-now-outcome.js';
import { RecallIndex } from '../memory/recall/recall-index.js';
import { MEMORY_CATEGORIES, type MemoryStore, type StoredMemory } from '../store/memory-store.js';

export interface MemoryToolsOptions {
  userId: string;
  store: MemoryStore;
  processor: MemoryProcessor;
  /** Called after the caller's memories were forgotten (their cached greeting goes too). */
  onForget?: (userId: string) => void | Promise<void>;
  /**
   * Longest a tool waits on the store before answering: the caller is waiting on the line. What
   * was asked still completes in the background (a fact to remember is safe in the outbox).
   */
  timeoutMs?: number;
  /**
   * The call's index of what was loaded at its start (up to `MEMORY_LOAD_CAP`, kept current
   * during the call): `searchMemories` searches it without a round trip. Absent: it loads up to
   * `loadCap` from the store and searches those.
   */
  recall?: RecallIndex | undefined;
  /** Most memories `searchMemories` loads when it has no index. Default 5,000. */
  loadCap?: number;
}

// Built once per process, not per call: a burst of calls entering at once should not each pay
// for building the same schemas on the event loop.
const rememberParameters = z.object({
  category: z.enum(MEMORY_CATEGORIES).describe('kind of fact'),
  key: z.string().min(1).max(64).describe('short snake_case slug, e.g. favorite_color'),
  fact: z
    .string()
    .min(1)
    .max(MAX_VALUE_LENGTH)
    .describe('the fact, e.g. "Favorite color is green"'),
});
const searchParameters = z.object({
  query: z
    .string()
    .min(1)
    .max(200)
    .describe('the words of what they ask about, e.g. "trip Lisbon" or "sister wedding"'),
});
const forgetParameters = z.object({
  keys: z.array(z.string().min(1).max(64)).max(50).describe('keys of the memories to forget'),
  everything: z.boolean().describe('true to forget everything about the caller'),
});

/**
 * What the caller hears after "remember that …": never that it is kept when it is not.
 * @throws llm.ToolError when the fact was not kept (the model tells the caller why, plainly)
 */
function rememberAnswer(outcome: SaveNowOutcome | { status: 'slow' }, fact: string): string {
  switch (outcome.status) {
    case 'stored':
      return `Saved: ${fact}.`;
    case 'pending':
      return `Noted: ${fact}. My memory is out of reach right now, so it is written down here and saved as soon as my memory is back.`;
    case 'slow':
      return 'I am still saving that: my memory is slow to answer right now. Ask me again in a moment and I will tell you whether I kept it.';
    case 'forgotten':
      throw new llm.ToolError(
        'I did not save that: it came right as you asked me to forget. Please tell me again in a moment.',
      );
    case 'refused':
      throw new llm.ToolError(
        outcome.reason === 'identity'
          ? 'I cannot save memories on this call.'
          : 'I could not save that: my memory would not accept it.',
      );
  }
}

/** Facts indexed per event-loop turn when `searchMemories` has no call index (as live-recall.ts). */
const BUILD_SLICE = 100;

/**
 * A call without a live index (its memories did not load at the start): the full-text index is
 * built a slice per event-loop turn (~70 ms for 5,000 facts in one go would stall the audio).
 * @param memories what the store answered
 * @returns the index, once built
 */
async function indexInSlices(memories: readonly StoredMemory[]): Promise<RecallIndex> {
  const index = RecallIndex.of(memories);
  while (index.buildSome(BUILD_SLICE)) await new Promise((resolve) => setImmediate(resolve));
  return index;
}

/**
 * The caller's memory tools, bound to their identity.
 * @param options the caller, the store and processor, what to do after a forget, the deadline
 * @returns `rememberFact`, `recallMemories`, `searchMemories` and `forgetMemories`
 */
export function createMemoryTools({
  userId,
  store,
  processor,
  onForget,
  timeoutMs = 2_000,
  recall,
  loadCap = 5_000,
}: MemoryToolsOptions) {
  const inTime = <T>(work: Promise<T>, fallback?: () => T) =>
    pTimeout(work, { milliseconds: timeoutMs, ...(fallback ? { fallback } : {}) });
  const rememberFact = llm.tool({
    description:
      'Save a fact the caller explicitly asks you to remember ("remember that …"). Write the fact in the third person as one short sentence.',
    parameters: rememberParameters,
    execute: async ({ category, key, fact }) => {
      const item = extractedMemorySchema.safeParse({ category, key, value: fact, confidence: 1 });
      if (!item.success)
        throw new llm.ToolError(
          'That fact could not be saved: it needs a short name and a short sentence.',
        );
      let outcome: SaveNowOutcome | { status: 'slow' };
      try {
        // Past the deadline the save goes on in the background; its outcome is not known yet.
        outcome = await inTime<SaveNowOutcome | { status: 'slow' }>(
          processor.saveNow(userId, [{ ...item.data, source: 'explicit' }]),
          () => ({ status: 'slow' as const }),
        );
      } catch {
        throw new llm.ToolError('I could not save that just now.');
      }
      return rememberAnswer(outcome, item.data.value);
    },
  });

  const recallMemories = llm.tool({
    description:
      'List what you remember about the caller. Use when they ask what you know or remember about them.',
    execute: async () => {
      try {
        return memoriesForSpeech(await inTime(store.load(userId, MEMORY_LOAD_LIMIT)));
      } catch {
        throw new llm.ToolError('My memory is not reachable right now, so I cannot look that up.');
      }
    },
  });

  const searchMemories = llm.tool({
    description:
      'Search what you remember of the caller (everything they told you, up to their most recent several thousand facts) for what they ask about ("what did I tell you about my trip?"). Say the facts found; if none, say you do not remember that.',
    parameters: searchParameters,
    execute: async ({ query }) => {
      try {
        const index = recall ?? (await indexInSlices(await inTime(store.load(userId, loadCap))));
        return foundMemoriesForSpeech(index.search(query, MAX_SPOKEN_MEMORIES));
      } catch {
        throw new llm.ToolError('My memory is not reachable right now, so I cannot look that up.');
      }
    },
  });

  const forgetMemories = llm.tool({
    description:
      'Forget what the caller asks you to forget. Pass the keys of the memories to forget, or everything=true when they ask you to forget everything about them. Deleted for good, history included.',
    parameters: forgetParameters,
    execute: async ({ keys, everything }) => {
      if (!everything && keys.length === 0) {
        throw new llm.ToolError('Tell me which memory to forget, or ask me to forget everything.');
      }
      try {
        // One sequence: if the store is slow it still runs to the end after the deadline. The
        // fence goes up first, so an extraction already running cannot store it back.
        const deleted = await inTime(
          (async () => {
            await processor.forget(userId, everything ? undefined : keys);
            const n = await store.forget(userId, everything ? undefined : keys);
            await onForget?.(userId);
            return n;
          })(),
        );
        if (everything) return 'Done: I have forgotten everything I knew about you.';
        return deleted === 0
          ? 'I had nothing remembered under that.'
          : 'Done: I have forgotten that.';
      } catch (error) {
        if (error instanceof TimeoutError) {
          throw new llm.ToolError(
            'My memory is slow to answer right now; I asked it to forget that, so please check with me again in a moment.',
          );
        }
        throw new llm.ToolError(
          'I could not forget that just now; please ask me again in a moment.',
        );
      }
    },
  });

  return { rememberFact, recallMemories, searchMemories, forgetMemories };
}
