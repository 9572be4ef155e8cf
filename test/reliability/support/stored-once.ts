/**
 * "Stored exactly once", read from the real Postgres rows (not from the processor's counters):
 * every expected fact is current (nothing lost), nothing else is (nothing invented), no fact was
 * ever superseded (with serial-tagged extraction, a turn extracted and stored twice shows up as a
 * superseded row), and no applied batch re-wrote a fact already stored.
 */
import postgres, { type Sql } from 'postgres';
import { expect } from 'vitest';

export interface UserRows {
  current: { category: string; key: string; value: string }[];
  superseded: number;
  /** Applied batches whose facts were all already there: a write that happened twice. */
  rewrites: number;
  batches: number;
}

export class StoreRows {
  readonly #sql: Sql;

  constructor(url: string) {
    this.#sql = postgres(url, { max: 2, onnotice: () => undefined });
  }

  get sql(): Sql {
    return this.#sql;
  }

  async of(userId: string): Promise<UserRows> {
    const sql = this.#sql;
    const [current, [superseded], [batches]] = await Promise.all([
      sql<UserRows['current']>`
        select category, key, value from public.memories
         where user_id = ${userId} and valid_to is null order by key`,
      sql<{ n: number }[]>`
        select count(*)::int as n from public.memories
         where user_id = ${userId} and valid_to is not null`,
      sql<{ n: number; rewrites: number }[]>`
        select count(*)::int as n,
               count(*) filter (where (result->>'unchanged')::int > 0
                                  and (result->>'inserted')::int + (result->>'updated')::int = 0)::int
                 as rewrites
          from public.memory_batches where user_id = ${userId}`,
    ]);
    return {
      current: [...current],
      superseded: superseded!.n,
      rewrites: batches!.rewrites,
      batches: batches!.n,
    };
  }

  /** Every key expected for the caller is stored, once, and nothing else. */
  async expectStoredOnce(userId: string, keys: readonly string[]): Promise<UserRows> {
    const rows = await this.of(userId);
    expect(rows.current.map((r) => r.key).sort(), `current memories of ${userId}`).toEqual(
      [...keys].sort(),
    );
    expect(rows.superseded, `superseded (written twice) memories of ${userId}`).toBe(0);
    expect(rows.rewrites, `batches of ${userId} that re-wrote stored facts`).toBe(0);
    return rows;
  }

  /** Across every caller the test used: lost and duplicated memories (both must be 0). */
  async tally(expected: ReadonlyMap<string, readonly string[]>) {
    let lost = 0;
    let duplicates = 0;
    let stored = 0;
    for (const [userId, keys] of expected) {
      const rows = await this.of(userId);
      const have = new Set(rows.current.map((r) => r.key));
      lost += keys.filter((k) => !have.has(k)).length;
      duplicates += rows.superseded + rows.rewrites;
      stored += rows.current.length;
    }
    return { stored, lost, duplicates };
  }

  close(): Promise<void> {
    return this.#sql.end({ timeout: 2 });
  }
}
