/**
 * 3. Idle gap: calls 10 s apart (a pause between turns). undici's default keep-alive (4 s) drops
 * the connection in the pause; the pool's (>= 30 s) keeps it. Both run side by side.
 */
import { Agent } from 'undici';
import { type Scenario, ratio } from '../harness.js';
import { ask, clientOn, remotePool } from '../support/clients.js';
import { startRemoteOpenAI } from '../support/remote-openai.js';

const GAP_MS = 10_000;
const CALLS = 3;

export const idleGap: Scenario = {
  name: 'idle-gap',
  async run({ rttMs, progress }) {
    // Like OpenAI's front end, the servers send no Keep-Alive hint: each client's own setting rules.
    const [defaults, ours] = await Promise.all([
      startRemoteOpenAI(rttMs, { noKeepAliveHint: true }),
      startRemoteOpenAI(rttMs, { noKeepAliveHint: true }),
    ]);
    // One long-lived client with undici's default dispatcher settings.
    const dispatcher = new Agent({ connect: { ca: defaults.ca } });
    const plain = clientOn(defaults.baseURL, dispatcher);
    const pool = await remotePool(ours, {}, { warmUp: false });
    try {
      for (let call = 1; call <= CALLS; call++) {
        progress(
          `call ${call}/${CALLS}${call < CALLS ? `, then ${GAP_MS / 1000} s of silence` : ''}`,
        );
        await Promise.all([ask(plain), ask(pool.openai)]);
        if (call < CALLS) await new Promise((r) => setTimeout(r, GAP_MS));
      }
      const base = defaults.proxy.accepted;
      const mine = ours.proxy.accepted;
      return [
        {
          scenario: 'idle-gap',
          measure: `connections for ${CALLS} calls ${GAP_MS / 1000} s apart`,
          baseline: { label: 'undici defaults (keep-alive 4 s)', figures: { connections: base } },
          ours: {
            label: `pool (keep-alive ${pool.stats().connections.keepAliveTimeoutMs / 1000} s)`,
            figures: { connections: mine },
          },
          ratio: ratio(mine, base),
          target: '1 connection',
          pass: mine === 1,
        },
      ];
    } finally {
      await pool.close();
      await dispatcher.close();
      await Promise.all([defaults.close(), ours.close()]);
    }
  },
};
