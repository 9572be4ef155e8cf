/**
 * A call's memory in the prompt (`openTurnRecall`): only the facts the instructions actually
 * print are kept out of the turn blocks, matched by what they say, not by object identity.
 */
import { describe, expect, it } from 'vitest';
import { openTurnRecall } from '../../../src/call/turn-recall.js';
import { MAX_PROMPT_MEMORIES } from '../../../src/memory/memory-prompt.js';
import { LiveRecall } from '../../../src/memory/recall/live-recall.js';
import { boundedPinned } from '../../../src/memory/recall/pinned.js';
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
    // A printed one is not repeated.
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

describe('which pinned facts a full bound keeps', () => {
  it('the name before a newer home address, job title or callback number', () => {
    const name = fact('name', 'Name is Maya', 100, { category: 'identity' });
    const others = ['home_address', 'job_title', 'callback_number'].map((key, i) =>
      fact(key, `Her ${key}`, i, { category: 'identity' }),
    );
    expect(boundedPinned([...others, name], 1, 600)).toEqual([name]);
  });
});
