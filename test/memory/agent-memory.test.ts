/**
 * The assistant remembers a caller across calls, end to end in text mode: the real AgentSession
 * on the pool, the local OpenAI server, the real embedded Postgres, two separate "processes".
 */
import type { voice } from '@livekit/agents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CallerCall, openCall } from '../../src/call/caller-call.js';
import { runTurn, startTextSession } from '../support/agent-harness.js';
import {
  type MemoryFixture,
  type ProcessUnderTest,
  eventually,
  startMemoryFixture,
} from '../support/memory-fixture.js';

let fx: MemoryFixture;
beforeAll(async () => {
  fx = await startMemoryFixture();
});
afterAll(async () => fx?.stop());

/** One call: a text session for `userId` in process `p`, ended as a hang-up ends it. */
async function call(p: ProcessUnderTest, userId: string) {
  const caller = await openCall({ pool: p.pool, config: p.config, services: p.services, userId });
  const session = await startTextSession(p.pool, p.config, caller.agent);
  caller.attach(session);
  return {
    caller,
    session,
    say: (text: string) => runTurn(session, text),
    hangUp: async () => {
      await session.close();
      await caller.end();
    },
  };
}

const instructionsOf = (caller: CallerCall) => (caller.agent as voice.Agent).instructions;
const spoken = (output: string) => JSON.parse(output) as string;

describe('memory across calls', () => {
  it('a returning caller finds their name and preference in the next call’s context; another caller does not', async () => {
    const maya = fx.user('maya');
    const first = await call(await fx.process(), maya);
    expect(first.caller.memories).toEqual([]);
    await first.say('Hi, my name is Maya.');
    await first.say('I prefer green tea in the morning.');
    await first.hangUp(); // drains: the batch is stored before the call ends

    // The next call runs in another job process, as it would in production.
    const second = await call(await fx.process(), maya);
    const values = second.caller.memories.map((m) => m.value);
    expect(values).toEqual(
      expect.arrayContaining(['Name is Maya', 'Prefers green tea in the morning']),
    );
    const instructions = instructionsOf(second.caller);
    expect(instructions).toContain('Name is Maya');
    expect(instructions).toContain('Prefers green tea in the morning');
    // The prepared greeting was waiting: a personal one, with no LLM call on entry.
    expect(second.caller.greeting.text).toContain('Maya');

    const answer = await second.say('What do you know about me?');
    answer.expect.nextEvent().isFunctionCall({ name: 'recallMemories' });
    const recalled = spoken(
      answer.expect.nextEvent().isFunctionCallOutput({ isError: false }).event().item.output,
    );
    expect(recalled).toContain('Maya');
    expect(recalled).toContain('green tea');
    await second.hangUp();

    const sam = await call(await fx.process(), fx.user('sam'));
    expect(sam.caller.memories).toEqual([]);
    expect(instructionsOf(sam.caller)).not.toContain('Maya');
    expect(sam.caller.greeting.text).not.toContain('Maya');
    const samAnswer = await sam.say('What do you know about me?');
    samAnswer.expect.nextEvent().isFunctionCall({ name: 'recallMemories' });
    expect(samAnswer.expect.nextEvent().isFunctionCallOutput().event().item.output).not.toContain(
      'Maya',
    );
    await sam.hangUp();
  });

  it('"remember that …" is saved at once, and "forget everything" deletes it all, greeting included', async () => {
    const p = await fx.process();
    const ravi = fx.user('ravi');
    const live = await call(p, ravi);

    const remember = await live.say('Remember that my favorite color is green.');
    remember.expect.nextEvent().isFunctionCall({ name: 'rememberFact' });
    remember.expect.nextEvent().isFunctionCallOutput({ isError: false });
    // Stored during the call, not at its end.
    expect((await p.store.load(ravi)).map((m) => m.value)).toContain('Favorite color is green');

    await live.say('My name is Ravi.');
    await live.hangUp();
    await eventually(async () => expect((await p.store.load(ravi)).length).toBe(2));
    await eventually(async () =>
      expect(
        await p.store.getGreeting(p.config.livekit.agentName || 'default', ravi),
      ).toBeDefined(),
    );

    const again = await call(await fx.process(), ravi);
    const forget = await again.say('Please forget everything about me.');
    forget.expect.nextEvent().isFunctionCall({ name: 'forgetMemories' });
    const confirmation = spoken(
      forget.expect.nextEvent().isFunctionCallOutput({ isError: false }).event().item.output,
    );
    expect(confirmation).toMatch(/forg/i);
    expect(await p.store.load(ravi)).toEqual([]);
    expect(
      await p.store.getGreeting(p.config.livekit.agentName || 'default', ravi),
    ).toBeUndefined();
    await again.hangUp();
    // Nothing said after "forget everything" in that call brought the old facts back.
    expect((await p.store.load(ravi)).map((m) => m.value)).not.toContain('Favorite color is green');
  });
});
