/**
 * How a fact and a turn are cut into search terms, the same way on both sides: lower case,
 * without the words every sentence has ("what", "my", "about"), and reduced to a rough stem so
 * that "allergic" meets "allergy" and "sisters" meets "sister". Lexical, on purpose: no model and
 * no network inside a voice turn.
 */

/** Words that say nothing about which fact a turn is about. */
const STOP_WORDS = new Set(
  (
    'a about above after again all am an and any are as at be because been before being below ' +
    'between both but by can could did do does doing down during each few for from further get ' +
    'got had has have having he her here hers herself him himself his how i if in into is it its ' +
    'itself just know let like me more most my myself no nor not now of off on once only or other ' +
    'our ours out over own remember same she should so some such tell than that the their theirs ' +
    'them then there these they this those through to too told under until up us very was we ' +
    'were what when where which while who whom why will with would you your yours yourself ' +
    'caller calls called please thing things something anything say said'
  ).split(' '),
);

/** Endings taken off a word, longest first; what is left keeps at least `MIN_STEM` letters. */
const SUFFIXES = [
  'ations',
  'ation',
  'ments',
  'ment',
  'ness',
  'ings',
  'ing',
  'ies',
  'ied',
  'ers',
  'er',
  'ed',
  'es',
  'ic',
  'al',
  'ly',
  's',
  'y',
  'e',
];
const MIN_STEM = 3;

/**
 * @param word one word as the tokenizer cut it
 * @returns its rough stem, lower case
 */
function stemOf(word: string): string {
  let stem = word.toLowerCase().replace(/['’]s$/, '');
  // Two passes: "allergies" → "allerg", "marketing" → "market".
  for (let pass = 0; pass < 2; pass++) {
    const suffix = SUFFIXES.find((s) => stem.endsWith(s) && stem.length - s.length >= MIN_STEM);
    if (!suffix) break;
    stem = stem.slice(0, -suffix.length);
  }
  return stem;
}

/**
 * The search library's term processor: a word → its stem, or nothing for a stop word or a
 * single letter.
 * @param term one word as the tokenizer cut it
 * @returns the stem to index or look up, or null to skip the word
 */
export function recallTerm(term: string): string | null {
  const lower = term.toLowerCase();
  if (lower.length < 2 || STOP_WORDS.has(lower)) return null;
  return stemOf(lower);
}
