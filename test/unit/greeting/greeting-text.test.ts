import { describe, expect, it } from 'vitest';
import {
  GENERIC_GREETING,
  MAX_GREETING_LENGTH,
  NEW_CALLER_GREETING,
  checkGreeting,
  rememberedName,
  templateGreeting,
} from '../../../src/greeting/greeting-text.js';
import type { StoredMemory } from '../../../src/store/memory-store.js';

const memory = (
  key: string,
  value: string,
  category: StoredMemory['category'] = 'identity',
): StoredMemory => ({
  category,
  key,
  value,
  confidence: 0.9,
  source: 'extraction',
  createdAt: new Date(),
  updatedAt: new Date(),
});

describe('greeting text', () => {
  it('greets new callers without an LLM, and returning ones by name', () => {
    expect(templateGreeting([])).toBe(NEW_CALLER_GREETING);
    expect(templateGreeting([memory('name', 'Name is Maya')])).toBe(
      'Welcome back, Maya! How can I help you today?',
    );
    expect(templateGreeting([memory('favorite', 'Likes tea', 'preference')])).toBe(
      'Welcome back! How can I help you today?',
    );
    expect(rememberedName([memory('preferred_name', 'Prefers to be called Jo Ann')])).toBe(
      'Jo Ann',
    );
    expect(GENERIC_GREETING.length).toBeLessThan(60);
  });

  it('accepts a plain spoken greeting and rejects what must not be spoken', () => {
    const maya = [memory('name', 'Name is Maya')];
    expect(checkGreeting('"Welcome back, Maya — how did the move go?"', maya)).toBe(
      'Welcome back, Maya — how did the move go?',
    );
    expect(checkGreeting('Hi there! Good to hear from you again.', maya)).toBeDefined();
    expect(checkGreeting('x'.repeat(MAX_GREETING_LENGTH + 1))).toBeUndefined();
    expect(checkGreeting('**Welcome back!**')).toBeUndefined();
    expect(checkGreeting('<speak>Hello</speak>')).toBeUndefined();
    expect(checkGreeting('Visit https://example.com')).toBeUndefined();
    expect(checkGreeting('As an AI language model, I cannot greet you.')).toBeUndefined();
    expect(checkGreeting('')).toBeUndefined();
    // A model that mixes callers up: another caller's name is never spoken.
    expect(checkGreeting('Welcome back, Sam! How is the shed?', maya)).toBeUndefined();
    expect(checkGreeting('Hello Sam, nice to hear you.', [])).toBeUndefined();
  });
});
