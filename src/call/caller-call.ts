/**
 * One caller's call, from the memory side. At the start: their memories and their greeting, in
 * parallel, each with a deadline. During: every finished turn goes to the background processor.
 * At the end: the queue is drained and their next greeting is prepared.
 */
import type { voice } from '@livekit/agents';
import type { Config } from '../config/config.js';
import type { Greeting } from '../greeting/greeting-service.js';
import { GENERIC_GREETING } from '../greeting/greeting-text.js';
import type { Logger } from '../lib/logger.js';
import { describeError } from '../lib/redact.js';
import { memoriesInPrompt } from '../memory/memory-prompt.js';
import type { MemoryServices } from '../memory/memory-services.js';
import { checkCallerIdentity } from '../memory/processor/caller-identity.js';
import type { DrainReport } from '../memory/processor/processor.js';
import type { ConnectionPool } from '../pool/connection-pool.js';
import type { StoredMemory } from '../store/memory-store.js';
import { createMemoryTools } from '../tools/memory-tools.js';
import { createAssistant } from './assistant.js';
import { loadMemories } from './load-memories.js';
import { type NextGreetingReport, prepareNextGreeting } from './next-greeting.js';
import { TurnCollector } from './turn-collector.js';
import { openTurnRecall } from './turn-recall.js';

export interface CallEndReport extends NextGreetingReport {
  drain?: DrainReport;
  elapsedMs: number;
}

export interface CallerCall {
  /** The LiveKit participant identity: the only key to this caller's memories. */
  readonly userId: string;
  readonly agent: voice.Agent;
  readonly memories: readonly StoredMemory[];
  /** False when the store did not answer in time: the call goes on without memories. */
  readonly memoriesLoaded: boolean;
  readonly greeting: Greeting;
  /** Sends the session's finished turns to the memory processor. */
  attach(session: voice.AgentSession): void;
  /** At session end: last turn, drain within the deadline, next greeting. Never throws. */
  end(): Promise<CallEndReport>;
}

export interface OpenCallOptions {
  pool: ConnectionPool;
  config: Config;
  /** Absent when the process has no memory store: the assistant still works, without memory. */
  services?: MemoryServices | undefined;
  userId: string;
  logger?: Logger | undefined;
}

/** Told to the assistant when it has no memory on a call, so it never claims to remember. */
export const MEMORY_UNAVAILABLE =
  'You have no memory on this call: do not claim to remember the caller, and if they ask you to remember something, say you cannot on this call.';

/** A call with no memory at all: a generic greeting, no memory tools, nothing queued. */
function callWithoutMemory(pool: ConnectionPool, userId: string): CallerCall {
  return {
    userId,
    agent: createAssistant({ pool, context: MEMORY_UNAVAILABLE }),
    memories: [],
    memoriesLoaded: false,
    greeting: { text: GENERIC_GREETING, source: 'deadline', elapsedMs: 0 },
    attach: () => undefined,
    end: async () => ({ greetingPrepared: false, greetingAudioPrepared: false, elapsedMs: 0 }),
  };
}

/**
 * Opens one caller's call: memories and greeting (each under its deadline), the assistant with
 * the caller's memory tools, and the turn collector. An identity the store cannot key (empty,
 * blank, control characters, too long) is refused here, logged once: the call goes on without
 * memory, and no LLM call or store round trip is spent on it.
 * @param options the process's pool, config and memory services; the caller's identity
 * @returns the call, ready to attach to a session; never rejects (a failing store means no memory)
 */
export async function openCall({
  pool,
  config,
  services,
  userId,
  logger,
}: OpenCallOptions): Promise<CallerCall> {
  if (!services) return callWithoutMemory(pool, userId);
  const identity = checkCallerIdentity(userId);
  if (!identity.ok) {
    // The length and the problem only: the identity itself may hold control characters.
    logger?.warn(
      { problem: identity.problem, identityLength: identity.length },
      'caller identity cannot key memories; the call goes on without memory',
    );
    return callWithoutMemory(pool, userId);
  }
  const { store, processor, greetings } = services;
  const loading = loadMemories(services, userId, config, logger, pool);
  const [loaded, greeting] = await Promise.all([
    loading,
    greetings.greet(
      userId,
      loading.then((l) => l.memories),
    ),
  ]);
  const { memories } = loaded;
  // The extractor sees what the assistant sees: a bounded set, who the caller is first.
  if (loaded.ok) processor.prime(userId, memoriesInPrompt(memories));
  // Everything loaded is searched locally on each turn; the prompt carries a bounded selection.
  const recall = loaded.ok
    ? openTurnRecall(services.recall, userId, memories, { topK: config.memory.promptFacts })
    : undefined;

  const agent = createAssistant({
    pool,
    context:
      recall?.context ??
      'Your memory of this caller is unavailable right now; do not claim to remember them.',
    ...(recall ? { turnMemories: recall.turnMemories } : {}),
    memoryTools: createMemoryTools({
      userId,
      store,
      processor,
      onForget: async () => {
        await greetings.forgotten(userId);
      },
      // The caller waits for a tool's answer: a slow store must not hold the conversation.
      timeoutMs: 2 * config.memory.loadTimeoutMs,
      recall: recall?.index,
      loadCap: config.memory.loadCap,
    }),
  });
  recall?.keepInstructionsCurrent(agent, (error) =>
    logger?.warn({ error: describeError(error, pool.secrets) }, 'instructions not updated'),
  );

  const collector = new TurnCollector((turn) => {
    try {
      processor.enqueue({ userId, ...turn });
    } catch (error) {
      logger?.warn({ error: describeError(error, pool.secrets) }, 'turn not queued');
    }
  });
  let detach: (() => void) | undefined;
  let ending: Promise<CallEndReport> | undefined;

  return {
    userId,
    agent,
    memories,
    memoriesLoaded: loaded.ok,
    greeting,
    attach(session) {
      detach = collector.attach(session);
    },
    end() {
      ending ??= (async () => {
        const started = performance.now();
        detach?.();
        collector.finish();
        recall?.close();
        const drain = await processor.drain(config.memory.drainTimeoutMs);
        const prepared = await prepareNextGreeting(services, userId, {
          before: memories,
          greeting,
          config,
          logger,
          pool,
        });
        const report = {
          drain,
          ...prepared,
          elapsedMs: Math.round(performance.now() - started),
        };
        logger?.info(report, 'call ended');
        return report;
      })();
      return ending;
    },
  };
}
