/** The main process's log filter: expected failures lose their stack, nothing else changes. */
import { describe, expect, it } from 'vitest';
import { quieted } from '../../../src/worker/quiet-expected-failures.js';

const line = (record: Record<string, unknown>) => `${JSON.stringify(record)}\n`;
const STACK = 'Error: x\n    at file:///a.js:1:2';

describe('quieted', () => {
  it('drops the stack of a retried connection failure and keeps the rest', () => {
    const record = {
      level: 40,
      msg: 'failed to connect to LiveKit server (ws://h), retrying in 2 seconds: (1/10)',
      error: { type: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:7880', stack: STACK },
    };
    expect(JSON.parse(quieted(line(record), false)!)).toEqual({
      ...record,
      error: { type: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:7880' },
    });
  });

  it('turns an idle process killed by the stop signal into an info line, only while stopping', () => {
    const record = {
      level: 40,
      msg: 'supervised process run failed',
      error: {
        message: 'process exited before initializing (code null, signal SIGINT)',
        stack: STACK,
      },
    };
    expect(JSON.parse(quieted(line(record), true)!)).toMatchObject({
      level: 30,
      msg: 'an idle process still starting was ended by the stop signal',
      error: { message: record.error.message },
    });
    expect(quieted(line(record), true)).not.toContain('"stack"');
    // Not stopping: a process dying at start is news, stack and all.
    expect(quieted(line(record), false)).toBeUndefined();
    // The shutdown request sent to a process the signal already ended.
    const unsent = { ...record, error: { message: 'write EPIPE', code: 'EPIPE', stack: STACK } };
    expect(JSON.parse(quieted(line(unsent), true)!)).toMatchObject({ level: 30 });
  });

  it('leaves unexpected errors, lower levels and non-JSON lines as they are', () => {
    const unexpected = {
      level: 50,
      msg: 'boom',
      error: { message: 'TypeError: x is undefined', stack: STACK },
    };
    expect(quieted(line(unexpected), true)).toBeUndefined();
    const debug = { level: 20, msg: 'retry', error: { message: 'ECONNREFUSED', stack: STACK } };
    expect(quieted(line(debug), false)).toBeUndefined();
    expect(quieted('plain text with "stack"\n', false)).toBeUndefined();
    expect(quieted(Buffer.from(line({ level: 40, msg: 'no error' })), false)).toBeUndefined();
  });
});
