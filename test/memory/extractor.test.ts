/** The extractor against the local OpenAI server: timeouts, coalescing, caching, bad items. */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExtractionError, MemoryExtractor } from '../../src/memory/extractor.js';
import type { Turn } from '../../src/memory/outbox.js';
import { TEST_SECRETS } from '../support/config.js';
import { startOpenAIServer, type OpenAIServer } from '../support/openai-server.js';

let server: OpenAIServer;
let client: OpenAI;
beforeAll(async () => {
  server = await startOpenAIServer();
  client = new OpenAI({ apiKey: TEST_SECRETS.openai, baseURL: server.baseURL, maxRetries: 0 });
});
afterAll(async () => server?.close());

let turnNumber = 0;
const turn = (userText: string): Turn => ({
  id: `t${++turnNumber}`,
  userId: 'maya',
  userText,
  assistantText: 'Noted.',
  at: new Date().toISOString(),
});

describe('memory extractor', () => {
  it('gives up on a hung call at its timeout, retries, and reports the LLM as unavailable', async () => {
    const extractor = new MemoryExtractor(() => client, {
      model: 'gpt-4o-mini',
      timeoutMs: 300,
      retries: 1,
      minRetryDelayMs: 10,
    });
    server.injectFault({ kind: 'hang' }, { count: 2 });
    const started = performance.now();
    const error = await extractor.extract([turn('My name is Maya.')]).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(ExtractionError);
    expect((error as ExtractionError).reason).toBe('unavailable');
    expect(elapsed).toBeLessThan(2_000); // two 300 ms attempts and a short backoff, not a hang
    expect(extractor.counters.retried).toBe(1);
    server.clearFaults();
  });

  it('coalesces identical calls in flight and caches the result', async () => {
    const extractor = new MemoryExtractor(() => client, { model: 'gpt-4o-mini' });
    const turns = [turn('My name is Ada and I prefer short answers.')];
    const before = server.chatCalls;
    const results = await Promise.all(Array.from({ length: 5 }, () => extractor.extract(turns)));
    expect(server.chatCalls - before).toBe(1);
    expect(extractor.counters.coalesced).toBe(4);
    expect(results[0]!.items.map((m) => m.value)).toEqual(['Name is Ada', 'Prefers short answers']);

    await extractor.extract(turns);
    expect(server.chatCalls - before).toBe(1);
    expect(extractor.counters.cacheHits).toBe(1);
  });

  it('drops and counts invalid items, keeps the valid ones', async () => {
    const extractor = new MemoryExtractor(() => client, { model: 'gpt-4o-mini' });
    server.onChat(() => ({
      content: JSON.stringify({
        memories: [
          { category: 'identity', key: 'name', value: 'Name is Lee', confidence: 0.9 },
          { category: 'not-a-category', key: 'x', value: 'y', confidence: 0.5 },
          { category: 'fact', key: '', value: 'no key', confidence: 0.5 },
          { category: 'fact', key: 'k', value: 'confidence out of range', confidence: 3 },
          'not even an object',
        ],
      }),
    }));
    try {
      const result = await extractor.extract([turn('My name is Lee.')]);
      expect(result.items.map((m) => m.value)).toEqual(['Name is Lee']);
      expect(result.droppedInvalid).toBe(4);
      expect(extractor.counters.droppedInvalid).toBe(4);
    } finally {
      server.onChat(undefined);
    }
  });

  it('truncates long turns before they reach the LLM', async () => {
    const extractor = new MemoryExtractor(() => client, {
      model: 'gpt-4o-mini',
      maxTurnChars: 500,
    });
    const from = server.requests.length;
    await extractor.extract([turn(`My name is Kim. ${'blah '.repeat(20_000)}`)]);
    const sent = server.requests.slice(from).find((r) => r.path.endsWith('/chat/completions'));
    expect(sent).toBeDefined();
    expect(JSON.stringify(sent!.body).length).toBeLessThan(5_000);
    expect(JSON.stringify(sent!.body)).toContain('My name is Kim.');
  });
});
