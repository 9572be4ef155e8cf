/**
 * OpenAI faults on the voice path of a live text-mode call (the real AgentSession on the pool's
 * LLM, the local OpenAI server, the real Postgres): a 429 with Retry-After, a 500, a request that
 * hangs past its timeout, a connection reset before the reply and in the middle of the streamed
 * reply, a malformed SSE stream. The call goes on (the next turn is answered), and every turn's
 * memories end up in Postgres exactly once, with faults on the extraction calls too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MemoryFixture, startMemoryFixture } from '../support/memory-fixture.js';
import type { Fault } from '../support/openai-server.js';
import { serialExtraction } from './support/serial-extraction.js';
import { StoreRows } from './support/stored-once.js';
import { assistantTexts, textCall } from './support/text-call.js';

let fx: MemoryFixture;
let rows: StoreRows;
beforeAll(async () => {
  fx = await startMemoryFixture();
  fx.openai.onChat(serialExtraction().handler);
  rows = new StoreRows(fx.postgresUrl);
});
afterAll(async () => {
  await rows?.close();
  await fx?.stop();
});

const CHAT = '/chat/completions';
const chatRequests = () => fx.openai.requests.filter((r) => r.path.endsWith(CHAT)).length;

interface FaultyTurn {
  name: string;
  fault: Fault;
  said: string;
  key: string;
  /** The framework retries it within the turn (else the turn fails and the next one is answered). */
  retried: boolean;
}

const TURNS: FaultyTurn[] = [
  {
    name: '429 with Retry-After',
    fault: { kind: 'status', status: 429, retryAfter: 1 },
    said: 'My name is Alma.',
    key: 'name',
    retried: true,
  },
  {
    name: '500',
    fault: { kind: 'status', status: 500 },
    said: 'I like green tea.',
    key: 'favorite_green_tea',
    retried: true,
  },
  {
    name: 'hang past the timeout',
    fault: { kind: 'hang' },
    said: "I'm working on a wooden boat.",
    key: 'current_project',
    retried: true,
  },
  {
    name: 'connection reset before the reply',
    fault: { kind: 'reset' },
    said: 'I love jazz.',
    key: 'favorite_jazz',
    retried: true,
  },
  {
    name: 'reset in the middle of the streamed reply',
    fault: { kind: 'reset-mid-stream' },
    said: 'I prefer night trains.',
    key: 'favorite_night_trains',
    retried: false,
  },
  {
    name: 'malformed SSE stream',
    fault: { kind: 'malformed-sse' },
    said: 'I like hiking.',
    key: 'favorite_hiking',
    retried: true,
  },
];

describe('OpenAI faults on the voice path', () => {
  it('the call survives every fault, and each turn’s memories are stored exactly once', async () => {
    // Extraction waits for the hang-up (a long batch delay), so each fault hits the voice turn.
    const p = await fx.process({
      MEMORY_BATCH_DELAY_MS: '60000',
      MEMORY_BATCH_SIZE: '50',
      MEMORY_EXTRACTION_TIMEOUT_MS: '1000',
    });
    const user = fx.user('alma');
    const call = await textCall(p, user, {});
    const survived: string[] = [];
    try {
      for (const turn of TURNS) {
        const before = chatRequests();
        fx.openai.injectFault(turn.fault, { path: CHAT });
        const started = performance.now();
        const result = await call.say(turn.said);
        const elapsed = Math.round(performance.now() - started);
        const replies = assistantTexts(result);
        console.info(
          `[reliability] voice fault "${turn.name}": ${chatRequests() - before} requests, ${elapsed} ms, replies ${JSON.stringify(replies)}`,
        );
        if (turn.retried) {
          expect(chatRequests() - before, turn.name).toBe(2);
          expect(replies, turn.name).toEqual([`You said: ${turn.said}`]);
        }
        // Whatever became of the faulty turn, the next one is answered in full.
        const next = await call.say('Are you still there?');
        expect(assistantTexts(next), `after ${turn.name}`).toEqual([
          'You said: Are you still there?',
        ]);
        survived.push(turn.name);
      }
      expect(call.session.agentState).not.toBe('closed');

      // Extraction at the hang-up meets faults of its own: a hang past its timeout, then a
      // connection reset in the middle of the JSON answer. Both are retried.
      fx.openai.injectFault({ kind: 'hang' }, { path: CHAT });
      fx.openai.injectFault({ kind: 'reset-mid-stream' }, { path: CHAT });
      const report = await call.hangUp();
      expect(report.drain).toMatchObject({ drained: true, left: 0 });
      expect(p.services.extractor.counters.retried).toBeGreaterThanOrEqual(2);
      survived.push('extraction: hang past timeout', 'extraction: reset mid-answer');
    } finally {
      fx.openai.clearFaults();
      await call.hangUp().catch(() => undefined);
      await p.close();
    }
    await rows.expectStoredOnce(
      user,
      TURNS.map((t) => t.key),
    );
    expect(await p.services.outbox.depth()).toBe(0);
    console.info(`[reliability] faults survived: ${survived.length} (${survived.join(', ')})`);
  }, 60_000);
});
