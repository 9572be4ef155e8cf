/**
 * One LLM answer cannot flood a caller's memory: the local OpenAI server answers an extraction
 * with 1,000 items (most valid, some not). A few are kept, the drops are logged once per batch
 * with the count per reason, and the caller's name and real facts still reach the next call's
 * instructions and "what do you know about me", however much else is stored.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAX_ITEMS_PER_TURN } from '../../src/memory/extraction/answer-bounds.js';
import { instructionsOf, textCall, toolOutputs } from '../reliability/support/text-call.js';
import { type MemoryFixture, startMemoryFixture } from '../support/memory-fixture.js';
import { extractedMemory } from '../support/memory-items.js';
import {
  type ChatHandler,
  type ChatRequestBody,
  defaultChatResponder,
} from '../support/openai-chat-responder.js';
import { captureLogs } from './support/log-capture.js';

let fx: MemoryFixture;
beforeAll(async () => {
  fx = await startMemoryFixture();
});
afterEach(() => fx.openai.onChat());
afterAll(async () => fx?.stop());

const CATEGORIES = ['fact', 'preference', 'project', 'relationship'] as const;
/** 1,000 items: 989 valid (all at confidence 1, above any real fact), 11 invalid. */
function floodItems(): unknown[] {
  const valid = Array.from({ length: 989 }, (_, i) => ({
    category: i < 10 ? 'identity' : CATEGORIES[i % CATEGORIES.length],
    key: i < 10 ? `alias_${i}` : `junk_${i}`,
    value: `Junk fact number ${i}`,
    confidence: 1,
  }));
  const invalid = [
    ...[1, 2, 3].map((i) => ({ category: 'secret', key: `s${i}`, value: 'x', confidence: 1 })),
    ...[1, 2, 3].map((i) => ({
      category: 'fact',
      key: `l${i}`,
      value: 'y'.repeat(400),
      confidence: 1,
    })),
    ...[1, 2].map(() => ({ category: 'fact', key: '!!!', value: 'z', confidence: 1 })),
    'not an item',
    null,
    { category: 'fact', key: 'c', value: 'w', confidence: 2 },
  ];
  return [...valid, ...invalid];
}

const isExtraction = (request: ChatRequestBody) => request.response_format?.type === 'json_schema';

/** Extraction answers: what the default responder finds, plus the flood. */
const flood: ChatHandler = async (request) => {
  if (!isExtraction(request)) return defaultChatResponder(request);
  const real = JSON.parse((await defaultChatResponder(request)).content!) as {
    memories: unknown[];
  };
  return { content: JSON.stringify({ memories: [...real.memories, ...floodItems()] }) };
};

describe('an extraction answer with 1,000 items', () => {
  it('keeps a few, logs the drops once with their reasons, and the name and real facts survive', async () => {
    const user = fx.user('fay');
    // Call 1: the caller's name and a real preference, stored as usual.
    const first = await fx.process();
    try {
      const call = await textCall(first, user);
      await call.say('My name is Fay.');
      await call.say('I like green tea.');
      await call.hangUp();
    } finally {
      await first.close();
    }

    // Call 2: one turn, answered with the flood.
    fx.openai.onChat(flood);
    const { logger, lines } = captureLogs();
    const second = await fx.process({}, { logger });
    try {
      const call = await textCall(second, user);
      await call.say('Tell me a story.');
      const report = await call.hangUp();
      expect(report.drain).toMatchObject({ drained: true, left: 0 });
      const drops = lines.filter((l) => l.msg === 'memory extraction dropped items from an answer');
      expect(drops).toHaveLength(1);
      const expected = {
        'unknown-category': 3,
        'value-too-long': 3,
        'bad-key': 2,
        'not-an-object': 2,
        'bad-confidence': 1,
        'over-bound': 989 - MAX_ITEMS_PER_TURN,
      };
      expect(drops[0]!.fields).toEqual({ dropped: expected });
      expect(second.services.processor.stats().droppedItems).toEqual(expected);
    } finally {
      fx.openai.onChat();
      await second.close();
    }
    const stored = await (await fx.process()).store.load(user, 500);
    expect(stored).toHaveLength(2 + MAX_ITEMS_PER_TURN);
    // Identity first: the kept items are the identity ones, not merely the first five.
    expect(stored.filter((m) => m.key.startsWith('alias_'))).toHaveLength(MAX_ITEMS_PER_TURN);

    // Call 3: the name and the preference are in the instructions and in the recall.
    const third = await fx.process();
    try {
      const call = await textCall(third, user);
      const instructions = instructionsOf(call.caller.agent);
      expect(instructions).toContain('identity/name: "Name is Fay"');
      expect(instructions).toContain('Likes green tea');
      const [recall] = toolOutputs(await call.say('What do you know about me?'));
      expect(recall?.isError).toBe(false);
      expect(recall?.text).toContain('Name is Fay');
      expect(recall?.text).toContain('Likes green tea');
      await call.hangUp();
    } finally {
      await third.close();
    }
  }, 60_000);

  it('however many newer facts are stored, the name comes first in the instructions and the recall', async () => {
    const p = await fx.process();
    const user = fx.user('gus');
    try {
      const heardAt = new Date();
      await p.store.save(
        user,
        [extractedMemory('identity', 'name', 'Name is Gus')],
        `name-${user}`,
        heardAt,
      );
      // 150 newer facts, in batches as the processor writes them.
      for (let b = 0; b < 10; b++) {
        const batch = Array.from({ length: 15 }, (_, i) =>
          extractedMemory('fact', `newer_${b}_${i}`, `Newer fact ${b}.${i}`),
        );
        await p.store.save(user, batch, `newer-${b}-${user}`, heardAt);
      }
      const call = await textCall(p, user);
      const instructions = instructionsOf(call.caller.agent);
      const lines = instructions.split('\n').filter((l) => /^- \w+\//.test(l));
      // The name (pinned) and the newest MEMORY_PROMPT_FACTS: the rest come per turn, by relevance.
      expect(lines).toHaveLength(1 + p.config.memory.promptFacts);
      expect(lines[0]).toBe('- identity/name: "Name is Gus"');
      expect(lines.slice(1).every((l) => l.startsWith('- fact/newer_9_'))).toBe(true);
      const [recall] = toolOutputs(await call.say('What do you know about me?'));
      expect(recall?.text).toMatch(/^Here is what I remember about you: "Name is Gus"; /);
      expect(recall?.text).toMatch(/ And \d+ more things\.$/);
      await call.hangUp();
    } finally {
      await p.close();
    }
  }, 30_000);
});
