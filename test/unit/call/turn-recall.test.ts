/**
 * A call's memory in the prompt (`openTurnRecall`): only the facts the instructions actually
 * print are kept out of the turn blocks, matched by what they say, not by object identity.
 */
import type { voice } from '@livekit/agents';
import { describe, expect, it, vi } from 'vitest';
import { openTurnRecall } from '../../../src/call/turn-recall.js';
import { MAX_PROMPT_MEMORIES } from '../../../src/memory/memory-prompt.js';
import { LiveRecall } from '../../../src/memory/recall/live-recall.js';
import { boundedPinned } from '../../../src/memory/recall/pinned.js';
import { selectFromIndex } from '../../../src/memory/recall/select-memories.js';
import type { StoredMemory } from '../../../src/store/memory-store.js';

const START = Date.UTC(2026, 0, 1);
const fact = (key: string, value: string, age: number, extra: Partial<StoredMemory> = {}) => {
  const at = new Date(START - age * 60_000);
  return {
    category: 'fact' as const,
    key,
    value,
    confidence: 0.9,
    source: 'extraction' as const,
    createdAt: at,
    updatedAt: at,
    ...extra,
  };
};

describe('the facts in the instructions and those of each turn', () => {
  it('with MEMORY_PROMPT_FACTS past what the instructions print, the others reach the turn', () => {
    const facts = Array.from({ length: 60 }, (_, i) => fact(`visit_${i}`, `Saw exhibit${i}x`, i));
    const recall = openTurnRecall(new LiveRecall(), 'maya', facts, { topK: 40 });
    const printed = recall.context.split('\n').filter((line) => line.startsWith('- '));
    expect(printed).toHaveLength(MAX_PROMPT_MEMORIES);
    // visit_35 was selected for the start (top 40 newest) but not printed (30 at most).
    expect(recall.context).not.toContain('exhibit35x');
    expect(recall.turnMemories('what about exhibit35x?')).toContain('fact/visit_35');
    // A printed one is not repeated: the search finds it, the turn block leaves it out.
    const found = selectFromIndex(recall.index, 'what about exhibit3x?', { topK: 40 });
    expect(found.map((m) => m.key)).toContain('visit_3');
    expect(recall.context).toContain('exhibit3x');
    expect(recall.turnMemories('what about exhibit3x?') ?? '').not.toContain('fact/visit_3:');
    recall.close();
  });

  it('a printed fact loaded again as another object is still not repeated', () => {
    const live = new LiveRecall();
    const tea = fact('tea', 'Loves jasmine tea', 0);
    const recall = openTurnRecall(live, 'maya', [tea], { topK: 8 });
    expect(recall.context).toContain('Loves jasmine tea');
    // The processor confirms the same fact (a new object, same category, key and value).
    live.stored('maya', [{ ...tea }]);
    expect(recall.turnMemories('which tea tonight?')).toBeUndefined();
    recall.close();
  });
});

/** A stand-in for the call's assistant: only what the instructions were last set to. */
function fakeAgent() {
  const set: string[] = [];
  const agent = {
    updateInstructions: vi.fn(async (text: string) => void set.push(text)),
  } as unknown as voice.Agent;
  return { agent, set };
}

describe('the instructions follow a printed fact updated during the call', () => {
  it('a new value stored over a printed one replaces it in the instructions', () => {
    const live = new LiveRecall();
    const city = fact('home_city', 'Lives in Paris', 5);
    const tea = fact('tea', 'Loves jasmine tea', 10);
    const recall = openTurnRecall(live, 'maya', [city, tea], { topK: 8 });
    const { agent, set } = fakeAgent();
    recall.keepInstructionsCurrent(agent, (error) => {
      throw error;
    });
    expect(recall.context).toContain('Lives in Paris');

    live.stored('maya', [{ ...city, value: 'Lives in Lyon' }]);
    expect(set).toHaveLength(1);
    expect(set[0]).toContain('Lives in Lyon');
    expect(set[0]).not.toContain('Lives in Paris');
    expect(set[0]).toContain('Loves jasmine tea');
    // Printed now: the turn block does not repeat it, nor brings the old value back.
    expect(recall.turnMemories('which city do I live in?') ?? '').not.toMatch(/Lyon|Paris/);
    recall.close();
  });

  it('a value confirmed again, or a fact not printed, leaves the instructions as they are', () => {
    const live = new LiveRecall();
    const tea = fact('tea', 'Loves jasmine tea', 10);
    const city = fact('home_city', 'Lives in Paris', 5);
    const recall = openTurnRecall(live, 'maya', [tea, city], { topK: 8 });
    const { agent, set } = fakeAgent();
    recall.keepInstructionsCurrent(agent, (error) => {
      throw error;
    });
    live.stored('maya', [{ ...tea }, fact('pet', 'Has a cat', 0)]);
    expect(set).toEqual([]);
    // The confirmed fact is still printed after a forget of another key.
    live.forgotten('maya', ['home_city']);
    expect(set).toHaveLength(1);
    expect(set[0]).toContain('Loves jasmine tea');
    expect(set[0]).not.toContain('Lives in Paris');
    recall.close();
  });
});

describe('which pinned facts a full bound keeps', () => {
  it('the name before a newer home address, job title or callback number', () => {
    const name = fact('name', 'Name is Maya', 100, { category: 'identity' });
    const others = ['home_address', 'job_title', 'callback_number'].map((key, i) =>
      fact(key, `Her ${key}`, i, { category: 'identity' }),
    );
    expect(boundedPinned([...others, name], 1, 600)).toEqual([name]);
  });
});
