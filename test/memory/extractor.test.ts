/**
 * The extractor against the local OpenAI server: timeouts, coalescing, caching, bad items, and
 * what each failure is called (it decides whether turns are kept or set aside). Production
 * defaults throughout; where the defaults would wait (15 s timeouts), time is faked.
 */
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ExtractionError } from '../../src/memory/extraction/extraction-error.js';
import { MemoryExtractor } from '../../src/memory/extraction/extractor.js';
import type { Turn } from '../../src/memory/outbox/outbox.js';
import { TEST_SECRETS } from '../support/config.js';
import { type OpenAIServer, startOpenAIServer } from '../support/openai-server.js';
import { advanceUntil, fakeTimeouts } from './support/fake-time.js';

let server: OpenAIServer;
let client: OpenAI;
beforeAll(async () => {
  server = await startOpenAIServer();
  client = new OpenAI({ apiKey: TEST_SECRETS.openai, baseURL: server.baseURL, maxRetries: 0 });
});
afterAll(async () => server?.close());
afterEach(() => {
  vi.useRealTimers();
  server.clearFaults();
});

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
    const extractor = new MemoryExtractor(() => client, { model: 'gpt-4o-mini' });
    server.injectFault({ kind: 'hang' }, { count: 4 });
    const before = server.chatCalls;
    fakeTimeouts();
    let outcome: unknown;
    void extractor.extract([turn('My name is Maya, and I hang.')]).then(
      () => (outcome = 'resolved'),
      (error: unknown) => (outcome = error),
    );
    // Four attempts of 15 s, with 0.5–1, 1–2 and 2–4 s between them: about a minute, not forever.
    const took = await advanceUntil(() => expect(outcome).toBeDefined(), 80_000, 250);
    expect(took).toBeGreaterThanOrEqual(4 * 15_000);
    expect(outcome).toBeInstanceOf(ExtractionError);
    expect((outcome as ExtractionError).reason).toBe('unavailable');
    expect(server.chatCalls - before).toBe(4);
    expect(extractor.counters.retried).toBe(3);
  });

  it.each([
    [401, 'misconfigured'],
    [403, 'misconfigured'],
    [404, 'misconfigured'],
    [400, 'bad-request'],
  ] as const)(
    'names an HTTP %i %s, and does not retry it within the call',
    async (status, reason) => {
      const extractor = new MemoryExtractor(() => client, { model: 'gpt-4o-mini' });
      server.injectFault({ kind: 'status', status }, { count: 10 });
      const before = server.chatCalls;
      const error = await extractor.extract([turn(`My name is Setup${status}.`)]).catch((e) => e);
      expect(error).toBeInstanceOf(ExtractionError);
      expect(error).toMatchObject({ reason, status });
      expect(server.chatCalls - before).toBe(1);
    },
  );

  it('calls a conversation too long for the model rejected: it will be every time', async () => {
    const extractor = new MemoryExtractor(() => client, { model: 'gpt-4o-mini' });
    server.injectFault({
      kind: 'status',
      status: 400,
      message: "This model's maximum context length is 128000 tokens. However, you requested more.",
    });
    const error = await extractor.extract([turn('My name is Lengthy.')]).catch((e) => e);
    expect(error).toMatchObject({ reason: 'rejected', status: 400 });
  });

  it('calls a content refusal rejected, without retrying it', async () => {
    let calls = 0;
    const refusing: Server = createServer((req, res) => {
      calls++;
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'chatcmpl-refusal',
          object: 'chat.completion',
          created: 1_700_000_000,
          model: 'gpt-4o-mini',
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: null, refusal: "I can't help with that." },
              finish_reason: 'stop',
              logprobs: null,
            },
          ],
        }),
      );
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = refusing.address() as AddressInfo;
      const refusingClient = new OpenAI({
        apiKey: TEST_SECRETS.openai,
        baseURL: `http://127.0.0.1:${port}/v1`,
        maxRetries: 0,
      });
      const extractor = new MemoryExtractor(() => refusingClient, { model: 'gpt-4o-mini' });
      const error = await extractor.extract([turn('Something refused.')]).catch((e) => e);
      expect(error).toMatchObject({ reason: 'rejected' });
      expect(calls).toBe(1);
    } finally {
      await new Promise<void>((resolve) => refusing.close(() => resolve()));
    }
  });

  it('retries an unusable answer within the call, and names it invalid-output', async () => {
    const extractor = new MemoryExtractor(() => client, { model: 'gpt-4o-mini' });
    server.injectFault({ kind: 'invalid-json' }, { count: 4 });
    const before = server.chatCalls;
    fakeTimeouts();
    let outcome: unknown;
    void extractor.extract([turn('My name is Garbled.')]).then(
      () => (outcome = 'resolved'),
      (error: unknown) => (outcome = error),
    );
    await advanceUntil(() => expect(outcome).toBeDefined(), 20_000);
    expect(outcome).toMatchObject({ reason: 'invalid-output' });
    expect(server.chatCalls - before).toBe(4);
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
