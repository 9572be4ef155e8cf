/** Whose fault an extraction failure is, and when a batch is set aside rather than kept. */
import { describe, expect, it } from 'vitest';
import { ExtractionError } from '../../../src/memory/extraction/extraction-error.js';
import {
  ExtractionTriage,
  judgeFailure,
} from '../../../src/memory/extraction/extraction-triage.js';

const http = (status: number, reason: ExtractionError['reason']) =>
  new ExtractionError(`memory extraction failed: HTTP ${status}`, reason, { status });
const garbage = () => new ExtractionError('the model answered with invalid JSON', 'invalid-output');

describe('judging an extraction failure', () => {
  it.each([
    [http(401, 'misconfigured'), 'service', 'the LLM rejected the API key (401)'],
    [http(403, 'misconfigured'), 'service', 'the LLM refused access to the model (403)'],
    [
      http(404, 'misconfigured'),
      'service',
      'the LLM does not know the model or the endpoint (404)',
    ],
    [http(429, 'unavailable'), 'service', 'the LLM is rate limiting (429)'],
    [http(503, 'unavailable'), 'service', 'the LLM failed (HTTP 503)'],
    [
      new ExtractionError('memory extraction timed out after 15000 ms', 'unavailable'),
      'service',
      'the LLM is unreachable (memory extraction timed out after 15000 ms)',
    ],
    [http(400, 'bad-request'), 'suspect', 'the LLM refused the request (HTTP 400)'],
    [garbage(), 'suspect', 'the LLM answers are unusable (the model answered with invalid JSON)'],
    [new TypeError('a bug'), 'suspect', 'extraction failed unexpectedly'],
  ] as const)('%s → %s', (error, verdict, reason) => {
    expect(judgeFailure(error)).toEqual({ verdict, reason });
  });

  it('a content refusal or a conversation too long is the input’s: set aside at once', () => {
    const triage = new ExtractionTriage();
    const refused = new ExtractionError('the model refused this conversation', 'rejected');
    expect(triage.judge(['t1'], refused)).toMatchObject({
      action: 'dead-letter',
      verdict: 'input',
    });
    expect(triage.health()).toEqual({ status: 'healthy' });
  });
});

describe('extraction triage', () => {
  it('a setup error keeps every batch, however often, and reports the reason as health', () => {
    const triage = new ExtractionTriage();
    for (let round = 0; round < 20; round++) {
      for (const batch of ['a', 'b', 'c'])
        expect(triage.judge([batch], http(401, 'misconfigured')).action).toBe('retry');
    }
    expect(triage.health()).toMatchObject({
      status: 'degraded',
      reason: 'the LLM rejected the API key (401)',
      since: expect.any(String),
    });
    expect(triage.succeeded(['a'])).toBe(true);
    expect(triage.health()).toEqual({ status: 'healthy' });
  });

  it('unusable answers for every batch are the service: nothing is set aside', () => {
    const triage = new ExtractionTriage();
    for (let round = 0; round < 10; round++) {
      expect(triage.judge(['a1', 'a2'], garbage()).action).toBe('retry');
      expect(triage.judge(['b1'], garbage()).action).toBe('retry');
    }
    expect(triage.health()).toMatchObject({ status: 'degraded', reason: /unusable/ });
  });

  it('a batch that keeps failing while others succeed is set aside after three attempts', () => {
    const triage = new ExtractionTriage();
    triage.succeeded(['good1']);
    expect(triage.judge(['bad'], garbage()).action).toBe('retry');
    triage.succeeded(['good2']);
    expect(triage.judge(['bad'], garbage()).action).toBe('retry');
    expect(triage.health()).toEqual({ status: 'healthy' }); // others get through
    // Nothing new from the service since: the processor asks a probe first.
    expect(triage.needsEvidence(['bad'], garbage())).toBe(true);
    triage.probed(true);
    const third = triage.judge(['bad'], garbage());
    expect(third).toMatchObject({ action: 'dead-letter', verdict: 'suspect' });
    expect(third.reason).toMatch(/3 attempts/);
    // Its count starts again if it ever comes back (another process replays it).
    expect(triage.judge(['bad'], garbage()).action).toBe('retry');
  });

  it('a success from before a failure is no evidence: without a probe, nothing is counted', () => {
    const triage = new ExtractionTriage();
    triage.succeeded(['earlier']); // the service worked, once
    for (let round = 0; round < 10; round++) {
      // Only the first judgement follows the old success; every later one needs a probe, and
      // the probe finds the service failing too.
      if (triage.needsEvidence(['lonely'], garbage())) triage.probed(false);
      expect(triage.judge(['lonely'], garbage()).action).toBe('retry');
    }
    expect(triage.health()).toMatchObject({ status: 'degraded', reason: /unusable/ });
  });

  it('counts from an outage are dropped when the service comes back', () => {
    const triage = new ExtractionTriage();
    triage.succeeded(['other']);
    triage.judge(['x'], garbage()); // counted: the other batch had just worked
    triage.probed(false);
    triage.judge(['x'], garbage()); // the service fails: degraded, not counted
    triage.succeeded(['other2']); // back
    triage.judge(['x'], garbage());
    triage.probed(true);
    // Had the first count survived the outage, this would be the third.
    expect(triage.judge(['x'], garbage()).action).toBe('retry');
  });

  it('a batch that fails once, then succeeds, starts from zero', () => {
    const triage = new ExtractionTriage();
    triage.succeeded(['other']);
    triage.judge(['x'], garbage());
    triage.judge(['x'], garbage());
    triage.succeeded(['x']);
    expect(triage.judge(['x'], garbage()).action).toBe('retry');
    expect(triage.judge(['x'], garbage()).action).toBe('retry');
  });
});
