/**
 * Isolation, as a property over many identities and interleaved calls (seeded schedule): calls
 * of look-alike identities ("a", "A", "a ", "a:b", NFC and NFD "é", a zero-width space, SQL and
 * LIKE characters…) open, talk, remember, recall and hang up in random order across job
 * processes, several at once; one more process serves every identity without ever ending. No
 * memory or greeting of one identity ever reaches another's context, greeting, tool answer,
 * greeting cache entry or stored rows; nothing is lost; the pool's stats name no caller.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCall } from '../../src/call/caller-call.js';
import { type MemoryFixture, eventually, startMemoryFixture } from '../support/memory-fixture.js';
import type { ProcessUnderTest } from '../support/memory-fixture.js';
import { Prng, seed } from './support/prng.js';
import { StoreRows } from './support/stored-once.js';
import { type TextCall, instructionsOf, textCall, toolOutputs } from './support/text-call.js';

let fx: MemoryFixture;
let rows: StoreRows;
beforeAll(async () => {
  fx = await startMemoryFixture();
  rows = new StoreRows(fx.postgresUrl);
});
afterAll(async () => {
  await rows?.close();
  await fx?.stop();
});

const LOOK_ALIKES = [
  'a',
  'A',
  'a ',
  'a:b',
  'a","b',
  '["a","b"]',
  'é', // NFC
  'e\u0301', // NFD: looks the same, is another identity
  'a\u200b',
  "' or '1'='1",
  '%',
  '_',
];
const STEPS = 70;

interface Identity {
  id: string;
  name: string;
  thing: string;
  color: string;
  said: Set<string>;
}

describe('isolation between identities', () => {
  it(`no identity's memory or greeting reaches another's, over ${STEPS} interleaved steps`, async () => {
    const r = new Prng(seed() + 7);
    const run = `${r.word(4)}-`;
    const cap = (w: string) => w.charAt(0).toUpperCase() + w.slice(1);
    const identities: Identity[] = LOOK_ALIKES.map((base) => ({
      id: `${run}${base}`,
      name: `Zq${r.word(6)}`,
      thing: `item${r.word(6)}`,
      color: cap(`hue${r.word(6)}`),
      said: new Set(),
    }));
    const tokens = (who: Identity) => [who.name, who.thing, who.color];
    const strangers = (who: Identity) => identities.filter((o) => o !== who).flatMap(tokens);
    const where = `seed ${r.seed}`;
    /** Nothing of anyone else in what this identity's call shows. */
    const mine = (who: Identity, what: string, text: string) => {
      for (const token of strangers(who))
        expect(text, `${where}: ${JSON.stringify(who.id)}'s ${what} holds ${token}`).not.toContain(
          token,
        );
    };

    // One process that serves every identity and never ends (shared caches and queues).
    const shared = await fx.process();
    const open: { who: Identity; call: TextCall; p: ProcessUnderTest }[] = [];
    const counts = { opened: 0, said: 0, recalled: 0, remembered: 0, hungUp: 0, sharedOpens: 0 };
    try {
      for (let step = 0; step < STEPS; step++) {
        const action =
          open.length === 0 || (open.length < 4 && r.next() < 0.3)
            ? 'open'
            : r.pick(['say', 'say', 'recall', 'remember', 'hangUp', 'shared']);
        if (action === 'open') {
          const idle = identities.filter((i) => !open.some((o) => o.who === i));
          const who = r.pick(idle);
          const p = await fx.process();
          const call = await textCall(p, who.id);
          mine(who, 'context', instructionsOf(call.caller.agent));
          mine(who, 'greeting', call.caller.greeting.text);
          mine(who, 'memories', JSON.stringify(call.caller.memories));
          open.push({ who, call, p });
          counts.opened++;
          continue;
        }
        const target = r.pick(open);
        const { who, call } = target;
        if (action === 'say') {
          const said = r.pick([`My name is ${who.name}.`, `I like ${who.thing}.`]);
          who.said.add(said.startsWith('My') ? 'name' : `favorite_${who.thing}`);
          mine(who, 'reply', JSON.stringify((await call.say(said)).events));
          counts.said++;
        } else if (action === 'recall') {
          const [answer] = toolOutputs(await call.say('What do you know about me?'));
          expect(answer?.isError).toBe(false);
          mine(who, 'recall answer', answer!.text);
          counts.recalled++;
        } else if (action === 'remember') {
          const result = await call.say(`Remember that my favorite color is ${who.color}.`);
          expect(toolOutputs(result)[0]?.text).toContain(who.color);
          who.said.add('favorite_color');
          counts.remembered++;
        } else if (action === 'hangUp') {
          await call.hangUp();
          await target.p.close();
          open.splice(open.indexOf(target), 1);
          counts.hungUp++;
        } else {
          const caller = await openCall({
            pool: shared.pool,
            config: shared.config,
            services: shared.services,
            userId: who.id,
          });
          mine(who, 'context (shared process)', instructionsOf(caller.agent));
          mine(who, 'greeting (shared process)', caller.greeting.text);
          counts.sharedOpens++;
        }
      }
      for (const { call, p } of open.splice(0)) {
        await call.hangUp();
        await p.close();
      }

      // Every identity, once more, in the process that served them all and in a fresh one.
      const fresh = await fx.process();
      try {
        for (const who of identities) {
          for (const p of [shared, fresh]) {
            const caller = await openCall({
              pool: p.pool,
              config: p.config,
              services: p.services,
              userId: who.id,
            });
            mine(who, 'context', instructionsOf(caller.agent));
            mine(who, 'greeting', caller.greeting.text);
            // The greeting cache's entry for this identity, both levels.
            const cached = await p.services.greetings.cache.get(who.id);
            mine(who, 'cached greeting', cached?.text ?? '');
          }
          const stored = await rows.of(who.id);
          mine(who, 'stored memories', JSON.stringify(stored.current));
          const storedKeys = stored.current.map((m) => m.key);
          // Nothing this identity said was lost.
          expect(storedKeys.sort(), `${where}: ${JSON.stringify(who.id)}`).toEqual(
            expect.arrayContaining([...who.said]),
          );
          const greeting = await fx.process().then(async (p) => {
            try {
              return await p.store.getGreeting('default', who.id);
            } finally {
              await p.close();
            }
          });
          mine(who, 'stored greeting', greeting?.text ?? '');
        }
        // The processes' figures never name a caller, nor anything one said.
        for (const p of [shared, fresh]) {
          await eventually(() => expect(p.services.processor.queuedTurns()).toBe(0));
          const stats = JSON.stringify(p.pool.stats());
          for (const who of identities)
            for (const token of tokens(who)) expect(stats).not.toContain(token);
        }
      } finally {
        await fresh.close();
      }
      console.info(
        `[reliability] isolation: ${identities.length} look-alike identities, ${STEPS} steps (${JSON.stringify(counts)}), 0 leaks`,
      );
      expect(counts.hungUp + counts.opened).toBeGreaterThan(10);
    } finally {
      for (const { call, p } of open) {
        await call.hangUp().catch(() => undefined);
        await p.close();
      }
      await shared.close();
    }
  }, 120_000);
});
