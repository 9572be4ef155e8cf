/**
 * The per-turn selection on its own (`selectMemories`, `RecallIndex`, `LiveRecall`): an old fact
 * comes back when the turn is about it, pinned facts are always there and bounded, a flood of
 * other facts never pushes them out, and a forgotten fact never comes back.
 */
import { describe, expect, it } from 'vitest';
import { selectMemories } from '../../../src/index.js';
import { LiveRecall } from '../../../src/memory/recall/live-recall.js';
import { memoryTokens } from '../../../src/memory/recall/prompt-tokens.js';
import { RecallIndex } from '../../../src/memory/recall/recall-index.js';
import { SELECTION_DEFAULTS } from '../../../src/memory/recall/select-memories.js';
import type { MemoryInput, StoredMemory } from '../../../src/store/memory-store.js';

const START = Date.UTC(2026, 0, 1);
/** A memory stored `age` minutes before the newest. */
function memory(
  key: string,
  value: string,
  age: number,
  extra: Partial<MemoryInput> = {},
): StoredMemory {
  const at = new Date(START - age * 60_000);
  return {
    category: 'fact',
    key,
    value,
    confidence: 0.9,
    source: 'extraction',
    ...extra,
    createdAt: at,
    updatedAt: at,
  };
}

const NAME = memory('name', 'Name is Maya', 10_000, { category: 'identity' });
const ASKED = memory('gate_code', 'The gate code is 4471', 9_000, { source: 'explicit' });
const ALLERGY = memory('allergy', 'Is allergic to peanuts', 8_000, { category: 'preference' });

/** `n` newer facts about other things, newest first. */
const others = (n: number, value = (i: number) => `Visited museum number ${i} downtown`) =>
  Array.from({ length: n }, (_, i) => memory(`visit_${i}`, value(i), i));

const keys = (list: readonly StoredMemory[]) => list.map((m) => m.key);

describe('selectMemories', () => {
  it('brings back a fact from 300 facts ago when the turn is about it, and leaves it out otherwise', () => {
    const all = [...others(300), ALLERGY, NAME];
    const asked = selectMemories(
      all,
      'Could you suggest a snack? I have to watch out for peanuts.',
    );
    expect(keys(asked)).toContain('allergy');
    // Right after the pinned facts: the most relevant first.
    expect(asked[1]).toBe(ALLERGY);
    expect(keys(selectMemories(all, 'How is the weather today?'))).not.toContain('allergy');
  });

  it('finds a paraphrase: another form of the word, a misheard letter', () => {
    const all = [...others(300), ALLERGY, NAME];
    expect(keys(selectMemories(all, 'what are my allergies again?'))).toContain('allergy');
    expect(keys(selectMemories(all, 'anything with peenuts in it?'))).toContain('allergy');
  });

  it('always holds the pinned facts (identity, asked to remember), whatever the turn', () => {
    const all = [...others(5_000), ALLERGY, ASKED, NAME];
    for (const turn of ['', 'peanuts', 'museum number 17 downtown', 'gate']) {
      const chosen = selectMemories(all, turn);
      expect(chosen.slice(0, 2)).toEqual([NAME, ASKED]);
      expect(chosen.length).toBeLessThanOrEqual(2 + SELECTION_DEFAULTS.topK);
    }
  });

  it('a flood of matching facts never displaces the pinned ones, and the prompt stays bounded', () => {
    // 5,000 facts that all match the turn better than anything pinned does.
    const flood = others(5_000, (i) => `Talked about the weather forecast again, time ${i}`);
    // An extraction that calls everything identity: 500 newer "identity" facts.
    const aliases = Array.from({ length: 500 }, (_, i) =>
      memory(`alias_${i}`, `Also goes by weather nickname ${i}`, i, { category: 'identity' }),
    );
    const chosen = selectMemories([...flood, ...aliases, ASKED, NAME], 'weather forecast');
    expect(chosen).toContain(NAME);
    expect(chosen).toContain(ASKED);
    const tokens = chosen.reduce((sum, m) => sum + memoryTokens(m), 0);
    expect(tokens).toBeLessThanOrEqual(SELECTION_DEFAULTS.maxTokens);
    expect(chosen.filter((m) => m.key.startsWith('alias_')).length).toBeLessThanOrEqual(
      SELECTION_DEFAULTS.maxPinned - 2,
    );
  });

  it('breaks ties by recency: of equally relevant facts, the newer comes first', () => {
    const old = memory('trip_2019', 'Went to Lisbon', 5_000);
    const recent = memory('trip_2025', 'Went to Lisbon', 10);
    const chosen = selectMemories([old, ...others(50), recent], 'Lisbon', { topK: 1 });
    expect(chosen).toEqual([recent]);
  });
});

describe('forgetting', () => {
  it('a forgotten fact leaves the index at once and never comes back through retrieval', () => {
    const index = RecallIndex.of([...others(300), ALLERGY, NAME]);
    expect(keys(index.search('peanuts', 5))).toEqual(['allergy']);
    expect(index.remove(['allergy'])).toBe(1);
    expect(index.search('peanuts', 5)).toEqual([]);
    expect(index.newest()).not.toContain(ALLERGY);
    index.remove();
    expect(index.size).toBe(0);
    expect(index.search('museum', 5)).toEqual([]);
  });

  it('while the index is still being built: a search builds the rest, a forgotten fact never enters it', () => {
    // Each visit has a word of its own ("exhibit5x"): a word all 1,000 share is not searched.
    const visits = others(1_000, (i) => `Visited museum exhibit${i}x downtown`);
    const index = RecallIndex.of([...visits, ALLERGY, NAME]);
    expect(index.building).toBe(true);
    index.buildSome(10);
    index.remove(['allergy']);
    // visit_5 is among the ten indexed already; visit_999 still waits.
    const updated = memory('visit_5', 'Visited the aquarium instead', 0);
    const waiting = memory('visit_999', 'Visited the planetarium instead', 0);
    index.add([updated, waiting]);
    expect(index.search('peanuts', 5)).toEqual([]);
    expect(index.building).toBe(false);
    expect(index.search('aquarium', 5)).toEqual([updated]);
    expect(index.search('planetarium', 5)).toEqual([waiting]);
    // The superseded values are gone from the full-text index: only the new ones answer.
    const keysFor = (word: string) => index.search(word, 50).map((m) => m.key);
    expect(keysFor('exhibit5x')).not.toContain('visit_5');
    expect(keysFor('exhibit999x')).not.toContain('visit_999');
    expect(keysFor('exhibit6x')[0]).toBe('visit_6');
    // A word (nearly) every fact shares tells none apart: not searched, the newest come instead.
    expect(index.search('museum', 2_000)).toEqual([]);
  });

  it('live calls: a stored fact joins every open call of the caller; a forget removes it from all', () => {
    const live = new LiveRecall();
    const first = live.open('maya', [NAME]);
    const second = live.open('maya', [NAME]);
    const other = live.open('sam', []);
    const told: (readonly string[] | undefined)[] = [];
    first.onForgotten((keys) => told.push(keys));

    live.stored('maya', [{ ...ALLERGY }]);
    expect(keys(first.index.search('peanuts', 5))).toEqual(['allergy']);
    expect(keys(second.index.search('peanuts', 5))).toEqual(['allergy']);
    expect(other.index.size).toBe(0);

    live.forgotten('maya', ['allergy']);
    expect(first.index.search('peanuts', 5)).toEqual([]);
    expect(second.index.search('peanuts', 5)).toEqual([]);
    expect(told).toEqual([['allergy']]);

    second.close();
    live.stored('maya', [{ ...ASKED }]);
    expect(second.index.has(ASKED)).toBe(false);
    expect(first.index.has(ASKED)).toBe(true);
    first.close();
    other.close();
    expect(live.openCalls).toBe(0);
  });
});

describe('the token estimate', () => {
  it('counts a fact as printed: escapes in, one token for each character outside ASCII', () => {
    const fact = (value: string) => memory('note', value, 0);
    // 30 CJK characters: 30 tokens at least (characters / 4 would say 8).
    expect(
      memoryTokens(fact('私の妹の結婚式は五月にリスボンで行われます。とても楽しみにしています')),
    ).toBeGreaterThanOrEqual(30);
    // 10 emoji: one token each at least (UTF-16 length / 4 would say 5).
    expect(memoryTokens(fact('😀'.repeat(10)))).toBeGreaterThanOrEqual(10);
    // 100 '<' print as 100 six-character escapes: 150 tokens at least (not 25).
    expect(memoryTokens(fact('<'.repeat(100)))).toBeGreaterThanOrEqual(150);
    // Plain English: about four characters a token, line included.
    const plain = fact('Is allergic to peanuts');
    expect(memoryTokens(plain)).toBe(
      Math.ceil('- fact/note: "Is allergic to peanuts"\n'.length / 4),
    );
  });

  it('a selection of CJK facts stays within its token budget as printed', () => {
    const cjk = Array.from({ length: 40 }, (_, i) =>
      memory(`note_${i}`, `旅行の計画について話しました。番号${i}の博物館に行きたいです`, i),
    );
    const chosen = selectMemories(cjk, '博物館', { maxTokens: 100 });
    expect(chosen.length).toBeGreaterThan(0);
    expect(chosen.reduce((sum, m) => sum + memoryTokens(m), 0)).toBeLessThanOrEqual(100);
    expect(chosen.length).toBeLessThanOrEqual(3);
  });
});

describe('the index as facts arrive', () => {
  it('a stored fact is the newest at once; a superseded or forgotten pinned fact leaves the pins', () => {
    const index = RecallIndex.of([NAME, ALLERGY, ...others(20)]);
    expect(index.newest()[0]!.key).toBe('visit_0');
    const now = new Date(START + 60_000);
    const tea = { ...memory('tea', 'Loves jasmine tea', 0), createdAt: now, updatedAt: now };
    index.add([tea]);
    expect(index.newest()[0]).toBe(tea);
    expect(index.newest()).toHaveLength(23);
    // What they asked to remember, superseded by an extracted value: one entry, no longer pinned.
    const pins = RecallIndex.of([NAME, ASKED]);
    pins.add([{ ...ASKED, value: 'The gate code is 9000', source: 'extraction', updatedAt: now }]);
    expect(pins.pinned()).toEqual([NAME]);
    expect(pins.newest().map((m) => m.value)).toEqual(['The gate code is 9000', 'Name is Maya']);
    index.remove(['name']);
    expect(index.pinned()).toEqual([]);
    expect(index.newest().some((m) => m.key === 'name')).toBe(false);
  });

  it('a long turn is searched by its end: its last words, not what it began with', () => {
    const index = RecallIndex.of([ALLERGY, ...others(200)]);
    const filler = 'well, you know how it goes sometimes, '.repeat(8);
    const turn = `I have to be careful with peanuts, ${filler} so which museum did I visit?`;
    const found = index.search(turn, 5).map((m) => m.key);
    expect(found).toHaveLength(5);
    expect(found.every((key) => key.startsWith('visit_'))).toBe(true);
  });
});
