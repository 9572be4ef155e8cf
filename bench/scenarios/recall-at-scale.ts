/**
 * Recall at scale: a caller with 10, 500 and 5,000 facts (a seeded synthetic history:
 * bench/support/recall-facts.ts), each size stored in the real embedded Postgres and loaded as a
 * call loads it (one `load` up to MEMORY_LOAD_CAP). For each probe question, asked in other
 * words than its fact: is the fact in the prompt, and in the selection's first five (Recall@5);
 * the prompt's memory size in tokens (characters / 4); the time the turn's selection adds.
 * Baseline: the window calls used before, the newest 50 facts (identity first) in the
 * instructions, the same for every turn. Beyond the short questions: long turns (400 and 800
 * characters), a turn on the word most facts share (`commonWord`, and one every fact shares),
 * and a turn right after a fact was stored.
 */
import { randomUUID } from 'node:crypto';
import { memoriesForTurn } from '../../src/memory/memory-prompt.js';
import { isPinned } from '../../src/memory/recall/pinned.js';
import { memoryTokens } from '../../src/memory/recall/prompt-tokens.js';
import { RecallIndex } from '../../src/memory/recall/recall-index.js';
import { recallTerm } from '../../src/memory/recall/recall-terms.js';
import { SELECTION_DEFAULTS, selectFromIndex } from '../../src/memory/recall/select-memories.js';
import type { StoredMemory } from '../../src/store/memory-store.js';
import { PostgresMemoryStore } from '../../src/store/postgres-store.js';
import { startTestPostgres } from '../../test/support/postgres.js';
import { type Row, type Scenario, round, summarize, timed } from '../harness.js';
import { type RecallHistory, recallHistory } from '../support/recall-facts.js';

const SIZES = [10, 500, 5_000];
/** MEMORY_LOAD_CAP's default. */
const LOAD_CAP = 5_000;
/** The old window: the newest 50, identity first. */
const WINDOW = 50;
/** Rounds over the probe questions for the latency samples (40 questions a round). */
const LATENCY_ROUNDS = 50;
const P95_TARGET_MS = 2;
const options = { topK: SELECTION_DEFAULTS.topK };

/** Saves the history oldest first, in batches as the processor writes them. */
async function store(db: PostgresMemoryStore, userId: string, history: RecallHistory) {
  const oldestFirst = [...history.memories].reverse();
  for (let i = 0; i < oldestFirst.length; i += 500) {
    const batch = oldestFirst
      .slice(i, i + 500)
      .map(({ category, key, value, confidence, source }) => ({
        category,
        key,
        value,
        confidence,
        source,
      }));
    await db.save(userId, batch, randomUUID(), new Date());
  }
}

/** Estimated tokens of the facts' lines (the blocks' fixed header, ~60 tokens, left out on both sides). */
const tokensOf = (memories: readonly StoredMemory[]) =>
  memories.reduce((sum, m) => sum + memoryTokens(m), 0);

/** How a turn's memories are picked: the product's way is `selectFromIndex`. */
export type SelectForTurn = typeof selectFromIndex;

/**
 * Measures one size. The check fails when retrieval stops finding what a turn is about (a
 * selection by recency alone finds fewer facts than the newest-50 window at 500 facts), when
 * the prompt is no longer bounded, or when the selection's p95 passes 2 ms at 5,000 facts.
 * @param options the store, the caller's fact count, the load runs, how a turn selects
 * @returns the report row
 */
export async function measureRecall({
  db,
  n,
  runs,
  select = selectFromIndex,
  progress = () => undefined,
}: {
  db: PostgresMemoryStore;
  n: number;
  runs: number;
  select?: SelectForTurn;
  progress?: (message: string) => void;
}): Promise<Row> {
  const history = recallHistory(n);
  const userId = `recall-${n}-${randomUUID()}`;
  progress(`${n} facts: storing`);
  await store(db, userId, history);

  progress(`${n} facts: session-start load x${runs}`);
  let loaded: StoredMemory[] = [];
  const loadMs: number[] = [];
  const openMs: number[] = [];
  const buildMs: number[] = [];
  const sliceMs: number[] = [];
  for (let run = 0; run <= runs; run++) {
    const ms = await timed(async () => (loaded = await db.load(userId, LOAD_CAP)));
    // On the start path: the index's fact map and the instructions' selection.
    let index = RecallIndex.of([]);
    const opened = await timed(async () => {
      index = RecallIndex.of(loaded);
      select(index, '', options);
    });
    // Off it: the full-text index, a slice per event-loop turn (live-recall.ts: 100 facts).
    const slices: number[] = [];
    const built = await timed(async () => {
      for (let more = true; more;) {
        const began = performance.now();
        more = index.buildSome(100);
        slices.push(performance.now() - began);
      }
    });
    if (run === 0) continue; // warm-up: the statement is prepared, the JIT has run
    loadMs.push(ms);
    openMs.push(opened);
    buildMs.push(built);
    sliceMs.push(Math.max(...slices));
  }
  const loadBytes = Buffer.byteLength(JSON.stringify(loaded));

  const index = RecallIndex.of(loaded);
  const start = select(index, '', options);
  const inInstructions = new Set(start);
  const startTokens = tokensOf(start);
  const window = loaded.slice(0, WINDOW);
  const turn = (question: string) => {
    const selection = select(index, question, options);
    const added = selection.filter((m) => !inInstructions.has(m));
    // Formatted as the turn's prompt block is, so its cost is in the latency.
    memoriesForTurn(added);
    return { selection, added };
  };

  progress(`${n} facts: ${history.probes.length} questions`);
  let atFive = 0;
  let inPrompt = 0;
  let inWindow = 0;
  const turnTokens: number[] = [];
  for (const probe of history.probes) {
    const { selection, added } = turn(probe.question);
    const extra = selection.filter((m) => !isPinned(m));
    if (extra.slice(0, 5).some((m) => m.key === probe.key)) atFive++;
    if (selection.some((m) => m.key === probe.key) || start.some((m) => m.key === probe.key)) {
      inPrompt++;
    }
    if (window.some((m) => m.key === probe.key)) inWindow++;
    turnTokens.push(tokensOf(added));
  }

  progress(`${n} facts: ${LATENCY_ROUNDS} rounds of selection`);
  const latency: number[] = [];
  for (let round = 0; round <= LATENCY_ROUNDS; round++) {
    for (const probe of history.probes) {
      const began = performance.now();
      turn(probe.question);
      if (round > 0) latency.push(performance.now() - began);
    }
  }
  const questions = history.probes.length;
  const added = summarize(latency);
  const hard = measureHardTurns(index, loaded, history, turn);
  const oursTokens = startTokens + Math.max(...turnTokens);
  const baselineTokens = tokensOf(window);
  return {
    scenario: 'recall-at-scale',
    measure: `${n} facts, ${questions} paraphrased questions`,
    baseline: {
      label: `newest ${WINDOW} in the instructions`,
      figures: {
        promptTokens: baselineTokens,
        inPrompt: round(inWindow / questions, 3),
      },
    },
    ours: {
      label: `pinned + top ${options.topK} per turn`,
      figures: {
        promptTokensMax: oursTokens,
        instructionTokens: startTokens,
        turnTokensMedian: summarize(turnTokens).median,
        recallAt5: round(atFive / questions, 3),
        inPrompt: round(inPrompt / questions, 3),
        selectP50Ms: round(added.median, 3),
        selectP95Ms: round(added.p95, 3),
        longTurn400P95Ms: round(hard.long400.p95, 3),
        longTurn800P95Ms: round(hard.long800.p95, 3),
        commonWordP50Ms: round(hard.common.median, 3),
        commonWordP95Ms: round(hard.common.p95, 3),
        everyFactWordP50Ms: round(hard.shared.median, 3),
        everyFactWordP95Ms: round(hard.shared.p95, 3),
        afterStoreP95Ms: round(hard.afterStore.p95, 3),
        loadMedianMs: round(summarize(loadMs).median, 1),
        loadKB: round(loadBytes / 1024, 1),
        openMedianMs: round(summarize(openMs).median, 1),
        backgroundBuildMs: round(summarize(buildMs).median, 1),
        buildSliceMaxMs: round(Math.max(...sliceMs), 1),
      },
    },
    ratio: null,
    target: `p95 ≤ ${P95_TARGET_MS} ms at 5,000; tokens ≤ 2 × ${SELECTION_DEFAULTS.maxTokens}; in prompt ≥ baseline`,
    pass:
      (n < 5_000 || added.p95 <= P95_TARGET_MS) &&
      oursTokens <= 2 * SELECTION_DEFAULTS.maxTokens &&
      inPrompt >= inWindow,
  };
}

/**
 * The turns the short questions do not cover: long turns (400 and 800 characters, the question
 * at their end), a turn whose word most facts share, and a turn right after a fact was stored.
 */
function measureHardTurns(
  index: RecallIndex,
  loaded: readonly StoredMemory[],
  history: RecallHistory,
  turn: (question: string) => unknown,
) {
  const questions = history.probes.map((p) => p.question);
  const padded = (length: number, i: number) => {
    let text = questions[i]!;
    for (let j = i + 1; text.length < length; j++)
      text = `${questions[j % questions.length]} ${text}`;
    return text.slice(-length);
  };
  /** Times `work` over every question, after a warm-up round. */
  const sample = (work: (i: number) => unknown, before?: (i: number) => void) => {
    const ms: number[] = [];
    for (let round = 0; round <= LATENCY_ROUNDS / 5; round++) {
      for (let i = 0; i < questions.length; i++) {
        before?.(i);
        const began = performance.now();
        work(i);
        if (round > 0) ms.push(performance.now() - began);
      }
    }
    return summarize(ms);
  };
  const common = commonestWord(loaded);
  // The worst case: every fact shares the turn's word (a caller whose facts are all visits).
  const at = new Date();
  const shared = RecallIndex.of(
    loaded.map((m, i) => ({ ...m, value: `Visited museum ${i} downtown`, updatedAt: at })),
  );
  let stored = 0;
  return {
    shared: sample(() => selectFromIndex(shared, 'Which museums have I been to?', options)),
    long400: sample((i) => turn(padded(400, i))),
    long800: sample((i) => turn(padded(800, i))),
    common: sample(() => turn(`Tell me about the ${common}s again`)),
    afterStore: sample(
      (i) => turn(questions[i]!),
      () => {
        const now = new Date();
        index.add([
          {
            category: 'fact',
            key: `bench_stored_${stored++}`,
            value: 'Mentioned a new plan for the weekend',
            confidence: 0.9,
            source: 'extraction',
            createdAt: now,
            updatedAt: now,
          },
        ]);
      },
    ),
  };
}

/** The word (four letters or more, not a stop word) most facts' values share. */
function commonestWord(memories: readonly StoredMemory[]): string {
  const counts = new Map<string, number>();
  for (const m of memories) {
    const words = (m.value.toLowerCase().match(/[a-z]{4,}/g) ?? []).filter((w) => recallTerm(w));
    for (const word of new Set(words)) {
      counts.set(word, (counts.get(word) ?? 0) + 1);
    }
  }
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'thing';
}

export const recallAtScale: Scenario = {
  name: 'recall-at-scale',
  async run({ runs, progress }) {
    const pg = await startTestPostgres();
    const db = await PostgresMemoryStore.connect(pg.url, { maxConnections: 1 });
    try {
      const rows: Row[] = [];
      for (const n of SIZES) rows.push(await measureRecall({ db, n, runs, progress }));
      return rows;
    } finally {
      await db.close();
      await pg.stop();
    }
  },
};
