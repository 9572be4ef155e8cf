/**
 * A call as people make it: 8 turns, the caller pausing 1–9 s between them (a seeded schedule,
 * some pauses past undici's 4 s default keep-alive), interrupting the reply of turn 4. Each turn
 * is what the OpenAI plugin sends: the utterance to the STT (HTTP), the reply streamed from the
 * LLM, then spoken by the TTS. The starter's call (plugin defaults, Node's global dispatcher)
 * and ours (the pool, prewarmed) run at the same time in two processes, each against its own
 * HTTPS stand-in behind its own delay proxy, sending no Keep-Alive hint (as API front ends).
 * At the run's RTT, and at 80 ms in the same minute (two more processes) when the run's is not 80.
 */
import { type Row, type Scenario, median, ratio, round } from '../harness.js';
import { startCallProcess } from '../support/call-processes.js';
import type { CallCommand, CallResult, TurnResult } from '../support/call-protocol.js';
import { pausesMs } from '../support/call-schedule.js';
import { type RemoteOpenAI, startRemoteOpenAI } from '../support/remote-openai.js';

const TURNS = 8;
const BARGE_IN_TURN = 4;
/** Seed 12: pauses 3.3 1.6 5.6 8.5 (barge-in) 1.2 1.1 6.6 6.1 s. */
const SCHEDULE_SEED = 12;
/** The model's think time before its first token, then one token every 10 ms. */
const LLM_FIRST_TOKEN_MS = 200;
const TOKEN_MS = 10;
const REPLY = 'Sure, I can help with that. Let me check the details for you now.';
const COMMAND: CallCommand = {
  do: 'call',
  pausesMs: pausesMs(SCHEDULE_SEED, TURNS, BARGE_IN_TURN, 1_200),
  utteranceSeconds: 1.5,
  bargeInTurn: BARGE_IN_TURN,
  bargeInAfterChunks: 3,
};

async function standIn(rttMs: number): Promise<RemoteOpenAI> {
  const remote = await startRemoteOpenAI(rttMs, { noKeepAliveHint: true, chunkDelayMs: TOKEN_MS });
  remote.server.onChat(async () => {
    await new Promise((resolve) => setTimeout(resolve, LLM_FIRST_TOKEN_MS));
    return { content: REPLY };
  });
  return remote;
}

/** Both sides' calls at one RTT, at the same time. */
async function callPair(rttMs: number): Promise<{ starter: CallResult; pool: CallResult }> {
  const remotes = await Promise.all([standIn(rttMs), standIn(rttMs)]);
  try {
    const processes = await Promise.all([
      startCallProcess('starter', remotes[0]),
      startCallProcess('pool', remotes[1]),
    ]);
    try {
      const [starter, pool] = await Promise.all(processes.map((p) => p.send<CallResult>(COMMAND)));
      return { starter: starter!, pool: pool! };
    } finally {
      await Promise.all(processes.map((p) => p.close()));
    }
  } finally {
    await Promise.all(remotes.map((r) => r.close()));
  }
}

const spoken = (turns: TurnResult[]) => turns.filter((t) => t.firstAudioMs !== null);
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const onTurns = (call: CallResult) => sum(call.turns.map((t) => t.handshakes));

function rowsFor(rttMs: number, { starter, pool }: { starter: CallResult; pool: CallResult }) {
  const pairs = starter.turns.map((s, i) => ({ turn: i + 1, s, p: pool.turns[i]! }));
  const both = pairs.filter(({ s, p }) => s.firstAudioMs !== null && p.firstAudioMs !== null);
  const saved = both.map(({ s, p }) => s.firstAudioMs! - p.firstAudioMs!);
  // The turns where only the starter paid handshakes: what each of its new connections cost.
  const reconnects = both.filter(({ s, p }) => s.handshakes > 0 && p.handshakes === 0);
  const perHandshake = reconnects.map(
    ({ s, p }) => (s.firstAudioMs! - p.firstAudioMs!) / s.handshakes,
  );
  const handshakeCost = 2 * rttMs; // TCP (1 RTT) + TLS 1.3 (1 RTT), before any CPU
  const savedPerHandshake = perHandshake.length ? median(perHandshake) : null;
  const base = median(spoken(starter.turns).map((t) => t.firstAudioMs!));
  const ours = median(spoken(pool.turns).map((t) => t.firstAudioMs!));
  const figures = (call: CallResult) => ({
    medianMs: median(spoken(call.turns).map((t) => t.firstAudioMs!)),
    ttftMedianMs: median(call.turns.map((t) => t.ttftMs)),
    ttsFirstByteMedianMs: median(spoken(call.turns).map((t) => t.ttsFirstByteMs!)),
  });
  const rows: Row[] = [
    {
      scenario: 'call-turns',
      measure: `first audio per turn (caller stops → first TTS frame), ${TURNS}-turn call, ${rttMs} ms RTT`,
      baseline: { label: 'starter (plugin defaults)', figures: figures(starter) },
      ours: {
        label: 'pool',
        figures: {
          ...figures(pool),
          savedMsPerCall: round(sum(saved), 1),
          reconnectTurns: reconnects.length,
          savedPerStarterHandshakeMs:
            savedPerHandshake === null ? null : round(savedPerHandshake, 1),
        },
      },
      ratio: ratio(ours, base),
      target: `>= ${handshakeCost} ms saved per starter handshake`,
      // Fails if the pool's keep-alive fell to undici's 4 s (ours would reconnect after the same
      // pauses: no turn left where only the starter pays), or if the warm connections it hands
      // out were slower than new ones (a saving under the handshake's round trips).
      pass: savedPerHandshake !== null && savedPerHandshake >= handshakeCost,
    },
    {
      scenario: 'call-turns',
      measure: `new connections while a turn runs (TCP + TLS handshakes on the voice path), ${rttMs} ms RTT`,
      baseline: {
        label: 'starter (plugin defaults)',
        figures: {
          onTurns: onTurns(starter),
          turnsPaying: starter.turns.filter((t) => t.handshakes > 0).length,
          whileIdle: sum(starter.turns.map((t) => t.handshakesWhileIdle)),
          sessionTotal: starter.connections,
        },
      },
      ours: {
        label: 'pool (its prewarm connection is the first)',
        figures: {
          onTurns: onTurns(pool),
          turnsPaying: pool.turns.filter((t) => t.handshakes > 0).length,
          whileIdle: sum(pool.turns.map((t) => t.handshakesWhileIdle)),
          sessionTotal: pool.connections,
        },
      },
      ratio: ratio(onTurns(pool), onTurns(starter)),
      target: 'ours 0',
      // Fails if a turn finds no warm connection: keep-alive shorter than a pause, no
      // replacement after the barge-in, or fewer warm connections than a turn uses at once (as
      // of this writing the prewarm opens one, and turn 1's TTS request starts before the LLM
      // stream's connection is free again, so it opens a second).
      pass: onTurns(pool) === 0,
    },
  ];
  const perTurn = pairs
    .map(({ turn, s, p }) =>
      s.firstAudioMs === null || p.firstAudioMs === null
        ? `${turn}: barge-in`
        : `${turn}: ${Math.round(s.firstAudioMs)}/${Math.round(p.firstAudioMs)} ms (${s.handshakes}/${p.handshakes} new)`,
    )
    .join(', ');
  return { rows, perTurn, saved: sum(saved), base, ours };
}

export const callTurns: Scenario = {
  name: 'call-turns',
  async run({ rttMs, progress }) {
    const rtts = rttMs === 80 ? [80] : [rttMs, 80];
    progress(
      `${rtts.length * 2} processes, one ${TURNS}-turn call each at ${rtts.join(' and ')} ms RTT, ` +
        `pauses ${COMMAND.pausesMs.map((ms) => ms / 1000).join(' ')} s, barge-in on turn ${BARGE_IN_TURN}`,
    );
    const results = await Promise.all(rtts.map((rtt) => callPair(rtt)));
    const rows: Row[] = [];
    for (const [i, rtt] of rtts.entries()) {
      const r = rowsFor(rtt, results[i]!);
      rows.push(...r.rows);
      progress(`${rtt} ms RTT, first audio starter/pool per turn: ${r.perTurn}`);
      const failed = r.rows.filter((row) => !row.pass).map((row) => row.measure.split(' (')[0]);
      progress(
        `verdict ${rtt} ms RTT: ours saves ${Math.round(r.saved)} ms per call ` +
          `(first audio median ${Math.round(r.ours)} vs ${Math.round(r.base)} ms); ` +
          `handshakes during turns ${onTurns(results[i]!.pool)} vs ${onTurns(results[i]!.starter)}` +
          (failed.length ? `; FAIL: ${failed.join(', ')}` : '; pass'),
      );
    }
    return rows;
  },
};
