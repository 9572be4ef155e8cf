/**
 * The first thing a caller hears, without waiting on an LLM. On entry the cache is read in
 * parallel with the caller's memories, within a small budget: a prepared greeting is spoken as
 * it is; a returning caller without one gets an instant personal template while the LLM writes
 * one in the background for next time; a new caller gets the generic greeting, no LLM at all.
 * With prepared audio for the chosen text (this voice), no TTS either.
 */
import type { Logger } from '../lib/logger.js';
import { describeError } from '../lib/redact.js';
import type { GreetingAudio } from '../store/greeting-store.js';
import type { StoredMemory } from '../store/memory-store.js';
import type { GreetingAudioService } from './greeting-audio-service.js';
import type { GreetingCache } from './greeting-cache.js';
import type { GreetingGenerator } from './greeting-generator.js';
import { GENERIC_GREETING, NEW_CALLER_GREETING, templateGreeting } from './greeting-text.js';

export type GreetingSource = 'cache' | 'stale-cache' | 'template' | 'new-caller' | 'deadline';

export interface Greeting {
  text: string;
  source: GreetingSource;
  elapsedMs: number;
  /** Its speech, prepared ahead with the session's voice: said without TTS. */
  audio?: GreetingAudio | undefined;
}

type Choice = { text: string; source: GreetingSource; candidate?: GreetingAudio | undefined };

export interface GreetingServiceOptions {
  cache: GreetingCache;
  generator: GreetingGenerator;
  /** Longest a caller waits for a personal greeting before hearing the generic one. */
  budgetMs?: number;
  /** Prepared audio: absent, every greeting is said by the session's TTS. */
  audio?: GreetingAudioService;
  logger?: Logger;
  secrets?: readonly string[];
}

export class GreetingService {
  readonly #generating = new Map<string, Promise<string | undefined>>();
  /** Greetings being written from facts the caller has forgotten since: never stored. */
  readonly #forgottenRuns = new WeakSet<Promise<string | undefined>>();
  readonly #budgetMs: number;
  #bySource: Record<GreetingSource, number> = {
    cache: 0,
    'stale-cache': 0,
    template: 0,
    'new-caller': 0,
    deadline: 0,
  };

  constructor(private readonly options: GreetingServiceOptions) {
    this.#budgetMs = options.budgetMs ?? 150;
  }

  get cache(): GreetingCache {
    return this.options.cache;
  }

  /**
   * The greeting to say on entry, within the budget: the prepared one (even stale), else a
   * template from the memories, else the new-caller one; past the budget, the generic greeting.
   * Never waits on an LLM. A stale or missing greeting is refreshed in the background.
   * @param userId the caller's identity
   * @param memories the caller's memories, loading in parallel
   * @returns the text, where it came from, and how long choosing it took; never rejects
   */
  async greet(userId: string, memories: Promise<readonly StoredMemory[]>): Promise<Greeting> {
    const started = performance.now();
    const cached = this.options.cache.get(userId).catch(() => undefined);
    const decided = (async (): Promise<Choice> => {
      const hit = await cached;
      if (hit && !hit.stale) return { text: hit.text, source: 'cache', candidate: hit.audio };
      const known = await memories.catch(() => [] as readonly StoredMemory[]);
      if (known.length > 0) void this.refresh(userId, known);
      if (hit) return { text: hit.text, source: 'stale-cache', candidate: hit.audio };
      return {
        text: templateGreeting(known),
        source: known.length === 0 ? 'new-caller' : 'template',
      };
    })();

    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<Choice>((resolve) => {
      timer = setTimeout(
        () => resolve({ text: GENERIC_GREETING, source: 'deadline' }),
        this.#budgetMs,
      );
    });
    const chosen = await Promise.race([decided, deadline]);
    clearTimeout(timer);
    this.#bySource[chosen.source]++;
    if (chosen.source === 'deadline') {
      // Too slow this time: make sure the next call finds one ready.
      void memories.then((known) => this.precompute(userId, known)).catch(() => undefined);
    }
    return {
      text: chosen.text,
      source: chosen.source,
      elapsedMs: Math.round((performance.now() - started) * 10) / 10,
      audio: this.#audioFor(userId, chosen),
    };
  }

  /** The prepared audio for the chosen text; on a miss, made in the background for next time. */
  #audioFor(userId: string, { text, source, candidate }: Choice): GreetingAudio | undefined {
    const service = this.options.audio;
    const audio = service?.find(text, candidate);
    if (!service || audio) return audio;
    if (source === 'cache' || source === 'stale-cache') void service.prepare(userId, text);
    else if (source !== 'template') void service.preparePhrases([text]);
    // A template is replaced by the LLM's greeting, whose audio is made once it is written.
    return undefined;
  }

  /**
   * Writes the caller's next greeting and stores it with its TTL. Concurrent calls for one
   * caller share one LLM call. A greeting whose facts the caller forgot while it was being
   * written (see `forgotten`) is not stored.
   * @param userId the caller's identity
   * @param memories the facts to greet them with
   * @returns the greeting, or undefined when it failed or was forgotten; never rejects
   */
  refresh(userId: string, memories: readonly StoredMemory[]): Promise<string | undefined> {
    const running = this.#generating.get(userId);
    if (running) return running;
    const run: Promise<string | undefined> = this.options.generator
      .generate(memories)
      .then(async (text) => {
        if (this.#forgottenRuns.has(run)) return undefined;
        await this.options.cache.set(userId, text);
        // Forgotten while it was being stored: the forget's invalidation may have come first.
        if (this.#forgottenRuns.has(run)) {
          await this.options.cache.invalidate({ userId });
          return undefined;
        }
        void this.options.audio?.prepare(userId, text);
        return text;
      })
      .catch((error: unknown) => {
        this.options.logger?.warn(
          { error: describeError(error, this.options.secrets) },
          'greeting generation failed',
        );
        return undefined;
      })
      .finally(() => {
        if (this.#generating.get(userId) === run) this.#generating.delete(userId);
      });
    this.#generating.set(userId, run);
    return run;
  }

  /**
   * The caller forgot (some or all of) their memories: their stored greeting goes, and one being
   * written from the facts they had is never stored (the next refresh starts afresh).
   * @param userId the caller's identity
   * @throws what the cache's store throws (the greeting in process memory is gone regardless)
   */
  async forgotten(userId: string): Promise<void> {
    const running = this.#generating.get(userId);
    if (running) {
      this.#forgottenRuns.add(running);
      this.#generating.delete(userId);
    }
    await this.options.cache.invalidate({ userId });
  }

  /** At session end: prepare the next call's greeting (a new caller with no memories needs none). */
  async precompute(userId: string, memories: readonly StoredMemory[]): Promise<string | undefined> {
    if (memories.length === 0) return undefined;
    return this.refresh(userId, memories);
  }

  /**
   * Makes a caller's greeting's audio (joins one already being made for that text).
   * @param userId the caller's identity
   * @param text the greeting stored for them
   * @returns whether the store kept it; false without audio; never rejects
   */
  prepareAudio(userId: string, text: string): Promise<boolean> {
    return this.options.audio?.prepare(userId, text) ?? Promise.resolve(false);
  }

  /**
   * At process start (prewarm): the new-caller and generic greetings' audio, once per process.
   * @returns once both are ready or failed; never rejects
   */
  async prepareCommonAudio(): Promise<void> {
    await this.options.audio?.preparePhrases([NEW_CALLER_GREETING, GENERIC_GREETING]);
  }

  stats() {
    return {
      ...this.options.cache.stats(),
      bySource: { ...this.#bySource },
      llmCalls: this.options.generator.calls,
      llmFailures: this.options.generator.failures,
      generating: this.#generating.size,
      ...(this.options.audio ? { audio: this.options.audio.stats() } : {}),
    };
  }
}
