/**
 * One side of a client scenario in a process of its own, so its global dispatcher and event loop
 * are its own: `starter` (the plugin's defaults, see starter-clients.ts) or `pool` (the product:
 * `ConnectionPool.create` from the environment, as prewarm does, and the plugin wired on it by
 * src/call/voice-pipeline.ts). Prints one JSON line when ready, then answers one JSON line per command
 * read from stdin (see CallCommand); exits when stdin closes.
 *
 *   OPENAI_BASE_URL=… OPENAI_API_KEY=… NODE_EXTRA_CA_CERTS=… \
 *     node --import tsx bench/support/call-process.ts starter|pool
 */
import { initializeLogger } from '@livekit/agents';
import { subscribe } from 'node:diagnostics_channel';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type OpenAI from 'openai';
import { Agent } from 'undici';
import { createVoicePipeline } from '../../src/call/voice-pipeline.js';
import { loadConfig } from '../../src/config/config.js';
import { ConnectionPool } from '../../src/pool/connection-pool.js';
import type { BurstResult, CallCommand, CallResult, TurnResult } from './call-protocol.js';
import { ask, clientOn, runLimited } from './clients.js';
import { starterClient, starterVoiceParts } from './starter-clients.js';
import { type VoiceParts, newChat, runVoiceTurn, utterance } from './voice-turn.js';

const side = process.argv[2];
if (side !== 'starter' && side !== 'pool') throw new Error(`unknown side ${side}`);
initializeLogger({ pretty: false, level: 'silent' });

// Every new connection of this process, whichever dispatcher opened it (undici publishes these
// for Node's global fetch and for the npm package alike).
let connections = 0;
let resumedTls = 0;
subscribe('undici:client:connected', (message) => {
  connections++;
  const socket = (message as { socket?: { isSessionReused?: () => boolean } }).socket;
  if (socket?.isSessionReused?.()) resumedTls++;
});

const config = loadConfig();
// The product builds its pool in prewarm, before any call; the starter builds nothing ahead.
const pool = side === 'pool' ? await ConnectionPool.create(config) : undefined;
// Bulk traffic rides the background lane, as memory extraction does: the voice lane is sized for
// one call's two or three requests at once (5 + 2 overflow), not for a burst of ten.
const burstClient: OpenAI = pool ? pool.openaiBackground : starterClient();

/** What a session's entry builds: the voice parts, each on its own client or on the pool. */
function sessionParts(): VoiceParts {
  if (pool) return createVoicePipeline(pool, config);
  const { llmModel, sttModel, ttsModel } = config.openai;
  return starterVoiceParts({ llm: llmModel, stt: sttModel, tts: ttsModel });
}

async function call(command: Extract<CallCommand, { do: 'call' }>): Promise<CallResult> {
  const before = connections;
  const parts = sessionParts();
  parts.llm.prewarm(); // what the AgentSession constructor does
  const chat = newChat();
  const said = utterance(command.utteranceSeconds);
  const turns: TurnResult[] = [];
  let idleSince = connections;
  for (const [i, pauseMs] of command.pausesMs.entries()) {
    await sleep(pauseMs);
    const atStart = connections;
    const times = await runVoiceTurn(
      parts,
      chat,
      said,
      i + 1 === command.bargeInTurn ? command.bargeInAfterChunks : undefined,
    );
    turns.push({
      ...times,
      handshakes: connections - atStart,
      handshakesWhileIdle: atStart - idleSince,
    });
    idleSince = connections;
  }
  await Promise.all([parts.llm.aclose(), parts.tts.close(), parts.stt.close()]);
  return { turns, connections: connections - before, resumedTls };
}

/** The naive way: a dispatcher (so new connections) for every call, closed after it. */
async function askOnFreshDispatcher(): Promise<void> {
  const dispatcher = new Agent();
  try {
    await ask(clientOn(config.openai.baseURL, dispatcher));
  } finally {
    await dispatcher.close();
  }
}

async function burst(command: Extract<CallCommand, { do: 'burst' }>): Promise<BurstResult> {
  const before = connections;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await runLimited(command.calls, command.concurrency, () =>
    command.client === 'shared' ? ask(burstClient) : askOnFreshDispatcher(),
  );
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  return { ms, cpuMs, connections: connections - before, connectionsSinceStart: connections };
}

process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line) as CallCommand;
  const result = command.do === 'call' ? await call(command) : await burst(command);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
await pool?.close();
process.exit(0);
