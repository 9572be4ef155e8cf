/**
 * An extraction whose request found no free background connection (PoolAcquireError, wrapped by
 * fetch and the OpenAI SDK): not retried within the call (it would only wait again), judged the
 * service's fault with a reason that says so, so the processor keeps the turns and retries later.
 */
import OpenAI from 'openai';
import { AbortError } from 'p-retry';
import { describe, expect, it } from 'vitest';
import {
  ExtractionError,
  classifyAttemptError,
} from '../../../src/memory/extraction/extraction-error.js';
import { judgeFailure } from '../../../src/memory/extraction/extraction-triage.js';
import { PoolAcquireError } from '../../../src/pool/pool-acquire-error.js';

/** What the extractor's call throws when the lane gave up: as the SDK wraps fetch's failure. */
const sdkError = () =>
  new OpenAI.APIConnectionError({
    message: 'Connection error.',
    cause: new TypeError('fetch failed', {
      cause: new PoolAcquireError('background', 'https://api.openai.com', 5_000),
    }),
  });

describe('an extraction that found no free connection', () => {
  it('ends the call at once: no retry within it, the batch waits for the backoff', () => {
    const classified = classifyAttemptError(sdkError());
    expect(classified).toBeInstanceOf(AbortError);
    const inner = (classified as AbortError).originalError;
    expect(inner).toBeInstanceOf(ExtractionError);
    expect(inner).toMatchObject({ reason: 'unavailable' });
    expect(inner.message).toBe(
      'memory extraction failed: no background connection to https://api.openai.com came free within 5000 ms',
    );
  });

  it('is the service, not the batch: kept and retried, with a reason that names the pool', () => {
    const classified = classifyAttemptError(sdkError()) as AbortError;
    expect(judgeFailure(classified.originalError)).toEqual({
      verdict: 'service',
      reason: 'no background connection to the LLM came free within 5000 ms',
    });
  });

  it('says neither "timeout" nor "timed out", so the SDK keeps it as the cause', () => {
    const error = new PoolAcquireError('background', 'https://api.openai.com', 5_000);
    expect(String(error)).not.toMatch(/timed? ?out/i);
  });
});
