/**
 * Identities the store cannot key (empty, blank, control characters, lone surrogates, longer than
 * the store's 256 characters) are refused when the call starts: one clear log line, no LLM
 * extraction call, no store call, and the assistant still answers, without memory.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEMORY_UNAVAILABLE } from '../../src/call/caller-call.js';
import {
  MAX_IDENTITY_LENGTH,
  checkCallerIdentity,
} from '../../src/memory/processor/caller-identity.js';
import {
  assistantTexts,
  instructionsOf,
  textCall,
  toolOutputs,
} from '../reliability/support/text-call.js';
import { type MemoryFixture, startMemoryFixture } from '../support/memory-fixture.js';
import type { ChatRequestBody } from '../support/openai-chat-responder.js';
import { captureLogs } from './support/log-capture.js';

let fx: MemoryFixture;
beforeAll(async () => {
  fx = await startMemoryFixture();
});
afterAll(async () => fx?.stop());

const BAD: { kind: string; identity: string; problem: string }[] = [
  { kind: 'empty', identity: '', problem: 'empty' },
  { kind: 'whitespace only', identity: ' \t\n ', problem: 'blank' },
  { kind: 'NUL', identity: 'caller\u0000x', problem: 'control-characters' },
  { kind: 'escape sequence', identity: 'caller\u001b[31m', problem: 'control-characters' },
  { kind: 'C1 control', identity: 'caller\u0085', problem: 'control-characters' },
  { kind: 'lone surrogate', identity: 'caller\ud800', problem: 'ill-formed-unicode' },
  { kind: 'over-long', identity: 'x'.repeat(MAX_IDENTITY_LENGTH + 1), problem: 'too-long' },
  {
    kind: 'over-long in emoji',
    identity: '🙂'.repeat(MAX_IDENTITY_LENGTH + 1),
    problem: 'too-long',
  },
];

const extractionRequests = () =>
  fx.openai.requests.filter(
    (r) => (r.body as ChatRequestBody | undefined)?.response_format?.type === 'json_schema',
  ).length;

const storeCalls = (calls: Record<string, number>) =>
  Object.values(calls).reduce((sum, n) => sum + n, 0);

describe('checkCallerIdentity', () => {
  it.each(BAD)('refuses an identity that is $kind', ({ identity, problem }) => {
    expect(checkCallerIdentity(identity)).toEqual({
      ok: false,
      problem,
      length: identity.length,
    });
  });

  it('accepts look-alikes as distinct identities, and the store’s own limit counted in characters', () => {
    for (const identity of [
      'a',
      'a ',
      ' a',
      'a\u200b',
      'e\u0301',
      "' or '1'='1",
      'x'.repeat(MAX_IDENTITY_LENGTH),
      '🙂'.repeat(MAX_IDENTITY_LENGTH), // 512 UTF-16 units, 256 characters
    ]) {
      expect(checkCallerIdentity(identity), JSON.stringify(identity)).toEqual({ ok: true });
    }
  });
});

describe('a call from an identity the store cannot key', () => {
  it.each(BAD)(
    '$kind: refused at the start, no LLM extraction and no store call; the assistant answers',
    async ({ identity, problem }) => {
      const { logger, lines } = captureLogs();
      const p = await fx.process({}, { logger });
      try {
        const extractionsBefore = extractionRequests();
        const call = await textCall(p, identity, { logger });
        expect(instructionsOf(call.caller.agent)).toContain(MEMORY_UNAVAILABLE);
        expect(call.caller.memoriesLoaded).toBe(false);
        // No memory tool is offered: "remember that" is answered, never claimed as saved.
        const remember = await call.say('Remember that my favorite color is red.');
        expect(toolOutputs(remember)).toEqual([]);
        expect(assistantTexts(remember).join(' ')).not.toMatch(/saved|noted/i);
        expect(assistantTexts(await call.say('My name is Nobody.'))).toEqual([
          'You said: My name is Nobody.',
        ]);
        const report = await call.hangUp();
        expect(report.drain).toBeUndefined();
        // Whatever had been queued would be extracted now, not 1.5 s later.
        await p.services.processor.flush();
        expect(p.services.processor.stats().queued).toBe(0);

        expect(extractionRequests()).toBe(extractionsBefore);
        expect(storeCalls(p.store.calls)).toBe(0);
        const refused = lines.filter((l) => /caller identity cannot key memories/.test(l.msg));
        expect(refused).toHaveLength(1);
        expect(refused[0]!.level).toBe('warn');
        expect(refused[0]!.fields).toEqual({ problem, identityLength: identity.length });
      } finally {
        await p.close();
      }
    },
  );

  it('the processor refuses such identities too, counts them and logs each problem once', async () => {
    const { logger, lines } = captureLogs();
    const p = await fx.process({}, { logger });
    const { processor } = p.services;
    try {
      const extractionsBefore = extractionRequests();
      for (const { identity } of [...BAD, ...BAD]) {
        expect(
          processor.enqueue({ userId: identity, userText: 'My name is Bad.', assistantText: '' }),
        ).toBeUndefined();
        await expect(
          processor.saveNow(identity, [
            {
              category: 'fact',
              key: 'color',
              value: 'Likes red',
              confidence: 1,
              source: 'explicit',
            },
          ]),
        ).resolves.toEqual({ status: 'refused', reason: 'identity' });
      }
      await processor.flush();
      expect(processor.stats()).toMatchObject({
        refusedIdentities: BAD.length * 4,
        queued: 0,
        turnsProcessed: 0,
        storeCalls: 0,
      });
      expect(extractionRequests()).toBe(extractionsBefore);
      expect(storeCalls(p.store.calls)).toBe(0);
      expect(await p.services.outbox.depth()).toBe(0);
      const warned = lines.filter((l) => /refuses a caller identity/.test(l.msg));
      expect(warned.map((l) => l.fields['problem']).sort()).toEqual(
        [...new Set(BAD.map((b) => b.problem))].sort(),
      );
      // The log names the problem and the length, never the identity.
      for (const line of warned)
        expect(Object.keys(line.fields).sort()).toEqual(['identityLength', 'problem']);
    } finally {
      await p.close();
    }
  });

  it('an identity at the store’s limit (256 characters, in emoji) keeps its memories', async () => {
    const p = await fx.process();
    const identity = '🙂'.repeat(MAX_IDENTITY_LENGTH);
    try {
      const call = await textCall(p, identity);
      const [saved] = toolOutputs(await call.say('Remember that my favorite color is teal.'));
      expect(saved).toEqual({ text: 'Saved: Favorite color is teal.', isError: false });
      await call.hangUp();
      expect((await p.store.load(identity)).map((m) => m.value)).toEqual([
        'Favorite color is teal',
      ]);
    } finally {
      await p.close();
    }
  });
});
