/**
 * Request latencies for the histograms, from undici's diagnostics channels: each request's time
 * from creation to response headers, labelled with its service by origin; bounded between two
 * reports. Messages are published here as undici publishes them, with an injected clock.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MAX_PENDING_OBSERVATIONS,
  RequestLatency,
  originsOf,
} from '../../../src/metrics/request-latency.js';

const created = diagnosticsChannel.channel('undici:request:create');
const headers = diagnosticsChannel.channel('undici:request:headers');
const observers: RequestLatency[] = [];
afterEach(() => {
  for (const o of observers.splice(0)) o.close();
});

function observer(now: () => number) {
  const o = new RequestLatency(
    originsOf({ openai: 'https://api.openai.com/v1', supabase: undefined, bad: 'not a url' }),
    now,
  );
  observers.push(o);
  return o;
}

describe('request latency', () => {
  it('times each request from creation to its response headers, per service and origin', () => {
    let clock = 1_000;
    const latency = observer(() => clock);
    const openai = { origin: 'https://api.openai.com' };
    const other = { origin: 'http://127.0.0.1:9' };
    created.publish({ request: openai });
    created.publish({ request: other });
    clock += 120;
    headers.publish({ request: openai, response: {} });
    clock += 30;
    headers.publish({ request: other, response: {} });
    headers.publish({ request: openai, response: {} }); // seen once only
    expect(latency.take()).toEqual([
      {
        name: 'pool_request_duration',
        labels: { service: 'openai', origin: 'https://api.openai.com' },
        value: 120,
      },
      {
        name: 'pool_request_duration',
        labels: { service: 'other', origin: 'http://127.0.0.1:9' },
        value: 150,
      },
    ]);
    expect(latency.take()).toEqual([]);
  });

  it('keeps at most a bounded number between two reports, the newest', () => {
    let clock = 0;
    const latency = observer(() => clock);
    for (let i = 0; i < MAX_PENDING_OBSERVATIONS + 5; i++) {
      const request = { origin: 'https://api.openai.com' };
      created.publish({ request });
      clock += i;
      headers.publish({ request });
    }
    const kept = latency.take();
    expect(kept).toHaveLength(MAX_PENDING_OBSERVATIONS);
    expect(kept.at(-1)?.value).toBe(MAX_PENDING_OBSERVATIONS + 4);
    expect(kept[0]?.value).toBe(5);
    expect(latency.dropped).toBe(5);
  });

  it('stops listening when closed', () => {
    const latency = observer(() => 0);
    const request = { origin: 'https://api.openai.com' };
    created.publish({ request });
    latency.close();
    headers.publish({ request });
    expect(latency.take()).toEqual([]);
  });
});
