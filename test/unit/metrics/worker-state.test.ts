/**
 * The framework worker's figures as `/metrics` and `/ready` read them: registration from the
 * framework's own health endpoint, the load it last sent LiveKit, draining; readiness needs all
 * three conditions of the issue.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { ReportHub } from '../../../src/metrics/report-hub.js';
import { WorkerState } from '../../../src/metrics/worker-state.js';
import { notReadyBecause } from '../../../src/worker/worker-metrics.js';

function fakeWorker(id = 'AW_1') {
  return { id, activeJobs: [{}, {}], event: new EventEmitter() };
}
const health = (status: number) =>
  (() => Promise.resolve(new Response('', { status }))) as typeof fetch;
/** A hub whose processes all have a built pool: `idle` of them wait prewarmed, `job` run a call. */
const hubWith = (idle: number, job = 0) =>
  ({
    processes: () => ({ idle, job, total: idle + job, poolBuilt: idle + job }),
  }) as ReportHub;

describe('the worker state', () => {
  it('is registered only while the framework health endpoint says so and an id is assigned', async () => {
    let status = 200;
    const state = new WorkerState('http://health/', (() =>
      Promise.resolve(new Response('', { status }))) as typeof fetch);
    await state.refresh();
    expect(state.registered).toBe(false); // no worker attached yet
    state.attach(fakeWorker());
    await state.refresh();
    expect(state.registered).toBe(true);
    status = 503;
    await state.refresh();
    expect(state.registered).toBe(false);
  });

  it('is not registered when the health endpoint cannot be reached', async () => {
    const state = new WorkerState('http://health/', (() =>
      Promise.reject(new Error('ECONNREFUSED'))) as typeof fetch);
    state.attach(fakeWorker());
    await state.refresh();
    expect(state.registered).toBe(false);
  });

  it('reads the load the worker sends LiveKit, 1 while draining, and the worker id', async () => {
    const state = new WorkerState('http://health/', health(200));
    const worker = fakeWorker();
    state.attach(worker);
    expect(state.load).toBe(0);
    worker.event.emit('worker_msg', { message: { case: 'updateWorker', value: { load: 0.42 } } });
    worker.event.emit('worker_msg', { message: { case: 'availability', value: { load: 0.9 } } });
    expect(state.load).toBe(0.42);
    expect(state.activeJobs).toBe(2);
    worker.event.emit('worker_registered', 'AW_registered');
    expect(state.workerId).toBe('AW_registered');
    state.markDraining();
    expect(state.draining).toBe(true);
    expect(state.load).toBe(1);
  });
});

describe('readiness', () => {
  it('is ready only when registered, not draining, and a prewarmed idle process has built its pool', async () => {
    const state = new WorkerState('http://health/', health(200));
    state.attach(fakeWorker());
    expect(notReadyBecause(state, hubWith(1))).toEqual(['not registered with LiveKit']);
    await state.refresh();
    expect(notReadyBecause(state, hubWith(1))).toEqual([]);
    const noIdle = ['no prewarmed idle job process with a built pool'];
    expect(notReadyBecause(state, hubWith(0))).toEqual(noIdle);
    // Busy processes have built pools too, but none is free for the next call.
    expect(notReadyBecause(state, hubWith(0, 3))).toEqual(noIdle);
    state.markDraining();
    expect(notReadyBecause(state, hubWith(1))).toEqual(['draining']);
  });
});
