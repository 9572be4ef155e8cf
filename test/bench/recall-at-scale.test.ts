/**
 * The "recall at scale" check can fail: at 500 facts, a turn that picks by recency alone (the
 * pinned facts and the newest 8, whatever was said) finds fewer of the facts the questions are
 * about than the old newest-50 window, and the row says FAIL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SelectForTurn, measureRecall } from '../../bench/scenarios/recall-at-scale.js';
import { selectFromIndex } from '../../src/memory/recall/select-memories.js';
import { PostgresMemoryStore } from '../../src/store/postgres-store.js';
import { type TestPostgres, startTestPostgres } from '../support/postgres.js';

describe('bench check: recall at scale', () => {
  let pg: TestPostgres;
  let db: PostgresMemoryStore;
  beforeAll(async () => {
    pg = await startTestPostgres();
    db = await PostgresMemoryStore.connect(pg.url, { maxConnections: 1 });
  });
  afterAll(async () => {
    await db?.close();
    await pg?.stop();
  });

  it('passes with the product’s selection: every question finds its fact at 500', async () => {
    const row = await measureRecall({ db, n: 500, runs: 1 });
    expect(row.ours.figures.inPrompt).toBe(1);
    expect(row.pass).toBe(true);
  });

  it('fails when a turn picks by recency alone', async () => {
    const byRecency: SelectForTurn = (index, _turnText, options) =>
      selectFromIndex(index, '', options);
    const row = await measureRecall({ db, n: 500, runs: 1, select: byRecency });
    expect(row.ours.figures.recallAt5).toBeLessThan(0.2);
    expect(row.pass).toBe(false);
  });
});
