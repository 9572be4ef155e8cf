/**
 * Memory that scales, through the real agent session in text mode (embedded Postgres, the local
 * OpenAI server, a job process built as production builds it): what each request to the LLM
 * carries, read from the server's record of it. A fact 300 facts back reaches the prompt when
 * the caller talks about it; the caller's name is in every request; a forgotten fact never
 * comes back; a fact stored during the call joins; `searchMemories` finds an old fact.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type TextCall, textCall, toolOutputs } from '../reliability/support/text-call.js';
import {
  type MemoryFixture,
  type ProcessUnderTest,
  startMemoryFixture,
} from '../support/memory-fixture.js';
import { extractedMemory } from '../support/memory-items.js';
import {
  type ChatHandler,
  type ChatRequestBody,
  defaultChatResponder,
  textOf,
} from '../support/openai-chat-responder.js';

let fx: MemoryFixture;
let p: ProcessUnderTest;
beforeAll(async () => {
  fx = await startMemoryFixture();
});
// One job process per call, as production runs them (a call's end drains its processor).
beforeEach(async () => {
  p = await fx.process();
});
afterEach(() => fx.openai.onChat());
afterAll(async () => fx?.stop());

/** The caller's name, then two facts, then 300 newer ones about other things. */
async function seed(userId: string): Promise<void> {
  const heardAt = new Date();
  const first = [
    extractedMemory('identity', 'name', 'Name is Nora'),
    extractedMemory('preference', 'allergy', 'Is allergic to peanuts'),
    extractedMemory('fact', 'trip_lisbon', 'Going to Lisbon in May with her sister'),
  ];
  await p.store.save(userId, first, `first-${userId}`, heardAt);
  for (let b = 0; b < 6; b++) {
    const batch = Array.from({ length: 50 }, (_, i) =>
      extractedMemory('fact', `visit_${b}_${i}`, `Visited museum ${b * 50 + i} downtown`),
    );
    await p.store.save(userId, batch, `newer-${b}-${userId}`, heardAt);
  }
}

/** The session's requests (not extraction, not greetings): they offer the tools. */
function sessionRequests(): ChatRequestBody[] {
  return fx.openai.requests
    .filter((r) => r.path.endsWith('/chat/completions'))
    .map((r) => r.body as ChatRequestBody)
    .filter((body) => (body.tools?.length ?? 0) > 0);
}

/** What the LLM was sent for a turn: its first request's messages, as text. */
async function promptFor(call: TextCall, said: string) {
  const before = sessionRequests().length;
  const result = await call.say(said);
  const request = sessionRequests()[before]!;
  const messages = (request.messages ?? []).map((m) => ({ role: m.role, text: textOf(m.content) }));
  return { result, messages, all: messages.map((m) => m.text).join('\n') };
}

describe('a caller with 300 newer facts', () => {
  it('gets the old fact the turn is about, always their name, and never a forgotten fact', async () => {
    const user = fx.user('nora');
    await seed(user);
    const call = await textCall(p, user);
    expect(call.caller.memories).toHaveLength(303);

    const talk = await promptFor(
      call,
      'Can you suggest a snack? I have to be careful with peanuts.',
    );
    expect(talk.messages[0]!.text).toContain('Name is Nora');
    // Not in the instructions: in the turn's own block, just before what the caller said.
    expect(talk.messages[0]!.text).not.toContain('peanuts"');
    const block = talk.messages.at(-2)!;
    expect(block.role).toBe('system');
    expect(block.text).toContain('<relevant_memories>');
    expect(block.text).toContain('preference/allergy: "Is allergic to peanuts"');
    expect(talk.messages.at(-1)).toEqual({
      role: 'user',
      text: 'Can you suggest a snack? I have to be careful with peanuts.',
    });

    // Another subject: the allergy is not carried, the name still is.
    const other = await promptFor(call, 'Any good films out this week?');
    expect(other.all).not.toContain('allergic');
    expect(other.all).toContain('Name is Nora');

    const forget = await call.say('Forget my allergy.');
    expect(toolOutputs(forget)[0]).toEqual({
      text: 'Done: I have forgotten that.',
      isError: false,
    });
    const after = await promptFor(call, 'So, a snack with peanuts then?');
    expect(after.all).not.toContain('allergic');
    expect(after.all).toContain('Name is Nora');

    // A fact the instructions carried since the start leaves them too.
    expect(after.messages[0]!.text).toContain('Visited museum 299 downtown');
    const before = sessionRequests().length;
    await call.say('Forget visit 5 49.');
    // The forget's own reply (the request after the tool's answer) no longer carries it either.
    const forgetTurn = sessionRequests().slice(before);
    expect(forgetTurn.length).toBeGreaterThanOrEqual(2);
    const reply = forgetTurn.at(-1)!.messages ?? [];
    expect(reply.some((m) => m.role === 'tool')).toBe(true);
    expect(reply.map((m) => textOf(m.content)).join('\n')).not.toContain(
      'Visited museum 299 downtown',
    );
    const rewritten = await promptFor(call, 'Which museums have I been to?');
    expect(rewritten.all).not.toContain('Visited museum 299 downtown');
    expect(rewritten.all).toContain('Visited museum 298 downtown');
    await call.hangUp();
  }, 30_000);

  it('a call that changed nothing does not write the next greeting again, however many facts', async () => {
    const user = fx.user('ines');
    await seed(user);
    const first = await textCall(p, user);
    expect((await first.hangUp()).greetingPrepared).toBe(true);
    // The next call, in another job process: greeted from the prepared greeting, says nothing new.
    p = await fx.process();
    const second = await textCall(p, user);
    expect(second.caller.greeting.source).toBe('cache');
    await second.say('Hello there.');
    expect(await second.hangUp()).toMatchObject({ greetingPrepared: false });
  }, 30_000);

  it('a fact stored during the call joins its prompt; searchMemories finds an old one', async () => {
    const user = fx.user('omar');
    await seed(user);
    // "What did I tell you about X?" → searchMemories({ query: X }).
    const search: ChatHandler = (request) => {
      const last = request.messages?.at(-1);
      const offered = request.tools?.some((t) => t.function?.name === 'searchMemories');
      const asked =
        offered &&
        last?.role === 'user' &&
        /what did I tell you about (?:my )?(.+?)\?/i.exec(textOf(last.content));
      if (!asked) return defaultChatResponder(request);
      return {
        toolCalls: [{ name: 'searchMemories', arguments: JSON.stringify({ query: asked[1] }) }],
      };
    };
    fx.openai.onChat(search);
    const call = await textCall(p, user);

    const found = toolOutputs(await call.say('What did I tell you about my trip?'));
    expect(found).toEqual([
      {
        text: 'Here is what I remember about that: "Going to Lisbon in May with her sister".',
        isError: false,
      },
    ]);

    await call.say('I love jasmine tea.');
    await p.services.processor.flush();
    const tea = await promptFor(call, 'Which tea should I brew tonight?');
    expect(tea.messages.at(-2)!.text).toContain('Loves jasmine tea');
    await call.hangUp();
  }, 30_000);
});
