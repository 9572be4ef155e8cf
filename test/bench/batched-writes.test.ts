/**
 * The batched-write check can fail: round trips are counted on the wire in front of Postgres,
 * so a writer that saves one memory per call shows 100 and the row says FAIL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEMORIES, measureBatchedWrites, oneBatch } from '../../bench/scenarios/batched-writes.js';
import { type TestPostgres, startTestPostgres } from '../support/postgres.js';

describe('bench check: batched writes', () => {
  let pg: TestPostgres;
  beforeAll(async () => {
    pg = await startTestPostgres();
  });
  afterAll(async () => {
    await pg?.stop();
  });
  const measure = (writeOurs: typeof oneBatch) =>
    measureBatchedWrites({ url: pg.url, targetPort: pg.port, where: 'local', runs: 1, writeOurs });

  it('passes with one save_memories batch: 1 round trip against the baseline’s 100 inserts', async () => {
    const row = await measure(oneBatch);
    expect(row.baseline.figures.roundTrips).toBe(MEMORIES);
    expect(row.ours.figures.roundTrips).toBe(1);
    expect(row.pass).toBe(true);
  });

  it('fails when ours saves one item per call', async () => {
    const row = await measure(async (store, userId, memories) => {
      for (const item of memories) await oneBatch(store, userId, [item]);
    });
    expect(row.ours.figures.roundTrips).toBe(MEMORIES);
    expect(row.pass).toBe(false);
  });
});
