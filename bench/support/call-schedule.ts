/**
 * When a caller speaks in the benchmark's call: pauses of 1–9 s from a seeded generator, so every
 * run and both sides hear the same call. Human pauses often outlast undici's 4 s default
 * keep-alive; the fixed seed gives a call with pauses on both sides of it.
 */

/** mulberry32: a small, well-known seeded generator of floats in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Silence before each of `turns` turns (the first: from the session's start), 1000–9000 ms in
 * steps of 100 ms. After a barge-in the caller is already talking: that pause is `afterBargeInMs`.
 */
export function pausesMs(
  seed: number,
  turns: number,
  bargeInTurn: number,
  afterBargeInMs: number,
): number[] {
  const random = mulberry32(seed);
  const pauses = Array.from(
    { length: turns },
    () => Math.round((1_000 + random() * 8_000) / 100) * 100,
  );
  if (bargeInTurn < turns) pauses[bargeInTurn] = afterBargeInMs;
  return pauses;
}
