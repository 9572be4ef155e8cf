/**
 * Turns → memories, by one structured-output LLM call per batch. Calls run in parallel under a
 * limit, each bounded by a timeout and retried with backoff on 429/5xx/timeouts; identical calls
 * in flight are coalesced and their results cached for a while. What is asked and how the
 * answer is read live beside it: extraction-prompt.ts, answer-parsing.ts, extraction-error.ts.
 */
import { LRUCache } from 'lru-cache';
import { createHash } from 'node:crypto';
import type OpenAI from 'openai';
import pLimit, { type LimitFunction } from 'p-limit';
import pRetry from 'p-retry';
import pTimeout from 'p-timeout';
import type { StoredMemory } from '../../store/memory-store.js';
import type { Turn } from '../outbox/outbox.js';
import { type ParsedAnswer, parseAnswer } from './answer-parsing.js';
import { ExtractionError, classifyAttemptError, retryAfterMsOf } from './extraction-error.js';
import { EXTRACTION_JSON_SCHEMA, PROBE_TURN, extractionMessages } from './extraction-prompt.js';

export interface ExtractionResult extends ParsedAnswer {
  /** Answered from the cache of earlier calls: says nothing about the LLM now. */
  fromCache?: true;
}

export interface ExtractorOptions {
  model: string;
  /** Most LLM calls in flight at once. Default 4; at least 1. */
  concurrency?: number;
  /** Longest wait for one attempt's answer, in ms. Default 15 000; must be > 0. */
  timeoutMs?: number;
  /** Attempts after the first one of a call. Default 3; 0 = a single attempt. */
  retries?: number;
  /** Longest text of one side of a turn that reaches the LLM. Default 2 000 characters. */
  maxTurnChars?: number;
  /** How long an answer is reused for the same conversation, in ms. Default 10 minutes. */
  cacheTtlMs?: number;
  /** First wait between attempts of one call (doubling, randomized). Default 500 ms. */
  minRetryDelayMs?: number;
}

export interface ExtractorCounters {
  calls: number;
  retried: number;
  coalesced: number;
  cacheHits: number;
  droppedInvalid: number;
  inFlight: number;
  maxInFlight: number;
}

/** What the memory processor needs of an extractor (unit tests hand it a fake). */
export interface Extractor {
  readonly counters: ExtractorCounters;
  extract(turns: readonly Turn[], current?: readonly StoredMemory[]): Promise<ExtractionResult>;
  probe(): Promise<boolean>;
}

export class MemoryExtractor implements Extractor {
  readonly counters: ExtractorCounters = {
    calls: 0,
    retried: 0,
    coalesced: 0,
    cacheHits: 0,
    droppedInvalid: 0,
    inFlight: 0,
    maxInFlight: 0,
  };
  readonly cache: LRUCache<string, ExtractionResult>;
  readonly #limit: LimitFunction;
  readonly #inFlight = new Map<string, Promise<ExtractionResult>>();
  readonly #options: Required<ExtractorOptions>;

  /**
   * @param client the OpenAI client, asked for on each call (the pool may rebuild it)
   * @param options defaults apply per field: an `undefined` field keeps its default
   */
  constructor(
    private readonly client: () => OpenAI,
    options: ExtractorOptions,
  ) {
    this.#options = {
      model: options.model,
      concurrency: options.concurrency ?? 4,
      timeoutMs: options.timeoutMs ?? 15_000,
      retries: options.retries ?? 3,
      maxTurnChars: options.maxTurnChars ?? 2_000,
      cacheTtlMs: options.cacheTtlMs ?? 10 * 60_000,
      minRetryDelayMs: options.minRetryDelayMs ?? 500,
    };
    this.#limit = pLimit(this.#options.concurrency);
    this.cache = new LRUCache({ max: 500, ttl: this.#options.cacheTtlMs });
  }

  /**
   * Extracts memories from a batch of one caller's turns, given what is already remembered.
   * @param turns the caller's turns, oldest first
   * @param current what is remembered about the caller (keys to reuse, facts not to repeat)
   * @returns the valid items, one per key, and what was dropped
   * @throws {@link ExtractionError} once the call's attempts are spent, or at once when no retry
   *   can help (`misconfigured`, `bad-request`, `rejected`)
   */
  extract(
    turns: readonly Turn[],
    current: readonly StoredMemory[] = [],
  ): Promise<ExtractionResult> {
    const messages = extractionMessages(turns, current, this.#options.maxTurnChars);
    const key = createHash('sha256')
      .update(this.#options.model)
      .update(JSON.stringify(messages))
      .digest('hex');
    const cached = this.cache.get(key);
    if (cached) {
      this.counters.cacheHits++;
      return Promise.resolve({ ...cached, fromCache: true });
    }
    const running = this.#inFlight.get(key);
    if (running) {
      this.counters.coalesced++;
      return running;
    }
    const call = this.#limit(() => this.#callWithRetries(messages))
      .then((result) => {
        this.cache.set(key, result);
        return result;
      })
      .finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, call);
    return call;
  }

  /**
   * Asks the LLM, once, to extract from a fixed, harmless conversation: whether it can give a
   * usable answer right now. Tells "this batch cannot be answered" from "nothing can" when no
   * other batch has been answered lately (a job process mostly serves one caller). Not cached.
   * @returns true when the answer was usable; never rejects
   */
  async probe(): Promise<boolean> {
    try {
      const messages = extractionMessages([PROBE_TURN], [], this.#options.maxTurnChars);
      await this.#limit(() => this.#call(messages));
      return true;
    } catch {
      return false;
    }
  }

  #callWithRetries(messages: OpenAI.ChatCompletionMessageParam[]): Promise<ExtractionResult> {
    return pRetry(() => this.#call(messages), {
      retries: this.#options.retries,
      minTimeout: this.#options.minRetryDelayMs,
      factor: 2,
      randomize: true,
      onFailedAttempt: async ({ error, retriesLeft }) => {
        if (retriesLeft > 0) this.counters.retried++;
        // Honour the server's Retry-After beyond p-retry's own backoff.
        const retryAfterMs = retryAfterMsOf(error);
        if (retriesLeft > 0 && retryAfterMs > 0)
          await new Promise((r) => setTimeout(r, retryAfterMs));
      },
    });
  }

  /** One attempt: asks, waits at most `timeoutMs`, reads the answer. */
  async #call(messages: OpenAI.ChatCompletionMessageParam[]): Promise<ExtractionResult> {
    this.counters.calls++;
    this.counters.inFlight++;
    this.counters.maxInFlight = Math.max(this.counters.maxInFlight, this.counters.inFlight);
    const controller = new AbortController();
    try {
      const completion = await pTimeout(
        this.client().chat.completions.create(
          {
            model: this.#options.model,
            messages,
            response_format: {
              type: 'json_schema',
              json_schema: { name: 'memories', strict: true, schema: EXTRACTION_JSON_SCHEMA },
            },
          },
          { signal: controller.signal, maxRetries: 0 },
        ),
        {
          milliseconds: this.#options.timeoutMs,
          message: new ExtractionError(
            `memory extraction timed out after ${this.#options.timeoutMs} ms`,
            'unavailable',
          ),
        },
      );
      const choice = completion.choices[0];
      if (choice?.message?.refusal || choice?.finish_reason === 'content_filter')
        throw new ExtractionError('the model refused this conversation', 'rejected');
      const answer = parseAnswer(choice?.message?.content ?? '');
      this.counters.droppedInvalid += answer.droppedInvalid;
      return answer;
    } catch (error) {
      controller.abort();
      throw classifyAttemptError(error);
    } finally {
      this.counters.inFlight--;
    }
  }
}
