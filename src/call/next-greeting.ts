/** At a call's end, the caller's next greeting, written while nobody waits. */
import pTimeout from 'p-timeout';
import type { Config } from '../config/config.js';
import type { Greeting } from '../greeting/greeting-service.js';
import type { Logger } from '../lib/logger.js';
import { describeError } from '../lib/redact.js';
import { MEMORY_LOAD_LIMIT } from '../memory/memory-prompt.js';
import type { MemoryServices } from '../memory/memory-services.js';
import type { ConnectionPool } from '../pool/connection-pool.js';
import type { StoredMemory } from '../store/memory-store.js';

/** What the call's end did for the next call's greeting. */
export interface NextGreetingReport {
  greetingPrepared: boolean;
  /** The next greeting's speech is stored beside it: the next call says it without TTS. */
  greetingAudioPrepared: boolean;
}

/**
 * The next call's greeting is written now, while nobody waits: after the call's memories are
 * stored, and then its speech. Skipped when nothing changed and the greeting spoken today was
 * already prepared (its speech is made if it had none). A caller who forgot everything during the
 * call has no greeting left: the one spoken today (or one written from the facts they had) goes.
 * @param services the process's memory services
 * @param userId the caller
 * @param context what the call started with (facts, greeting), the deadlines, where to log
 * @returns whether a greeting and its speech were prepared; never rejects
 */
export async function prepareNextGreeting(
  services: MemoryServices,
  userId: string,
  context: {
    before: readonly StoredMemory[];
    greeting: Greeting;
    config: Config;
    logger?: Logger | undefined;
    pool: ConnectionPool;
  },
): Promise<NextGreetingReport> {
  const { config, logger, pool, greeting } = context;
  const none = { greetingPrepared: false, greetingAudioPrepared: false };
  try {
    const latest = await pTimeout(services.store.load(userId, MEMORY_LOAD_LIMIT), {
      milliseconds: config.memory.loadTimeoutMs * 3,
    });
    if (latest.length === 0) {
      // Facts at the start and none now: forgotten during the call (a new caller has none to drop).
      if (context.before.length > 0) await services.greetings.forgotten(userId);
      return none;
    }
    // Both in the store's order (identity first, then newest): the same window is compared.
    const before = context.before.slice(0, MEMORY_LOAD_LIMIT);
    if (greeting.source === 'cache' && sameFacts(before, latest)) {
      const greetingAudioPrepared =
        greeting.audio !== undefined ||
        (await services.greetings.prepareAudio(userId, greeting.text));
      return { greetingPrepared: false, greetingAudioPrepared };
    }
    const text = await pTimeout(services.greetings.precompute(userId, latest), {
      milliseconds: config.openai.timeoutMs,
    });
    if (text === undefined) return none;
    // Bounded by the synthesis timeout; a failure is logged where it happens, never thrown.
    return {
      greetingPrepared: true,
      greetingAudioPrepared: await services.greetings.prepareAudio(userId, text),
    };
  } catch (error) {
    logger?.warn(
      { error: describeError(error, pool.secrets) },
      'next greeting not prepared; the next call uses a template',
    );
    return none;
  }
}

function sameFacts(a: readonly StoredMemory[], b: readonly StoredMemory[]): boolean {
  const facts = (list: readonly StoredMemory[]) =>
    list
      .map((m) => JSON.stringify([m.category, m.key, m.value]))
      .sort()
      .join('\n');
  return facts(a) === facts(b);
}
