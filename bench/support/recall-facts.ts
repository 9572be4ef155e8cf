/**
 * A seeded synthetic history for the "recall at scale" bench: a caller with `n` current facts
 * (people, places, preferences, events, pets, health), of which some are probes, each with a
 * question asked about it in other words than the fact's own (another form of a word, a
 * synonym beside the one shared name). Fillers reuse the same names, cities and foods, so a
 * question meets distractors as it would in a real history. Same seed, same history.
 */
import type { MemoryCategory, StoredMemory } from '../../src/store/memory-store.js';

/** A fact the bench asks about, and how it asks. */
export interface Probe {
  key: string;
  question: string;
}

export interface RecallHistory {
  /** Newest first, as the store loads them (the name first: identity). */
  memories: StoredMemory[];
  probes: Probe[];
}

const NAMES = (
  'Amara Bruno Chloe Dmitri Elena Farid Greta Hiro Ines Jonas Kavya Luca Mireille Nadia Oskar ' +
  'Priya Quentin Rosa Soren Tamsin Umar Vera Wendell Ximena Yusuf Zelda Anouk Bastien Carmen ' +
  'Dario Esme Felix Gideon Hana Ivo Juno Kofi Leila Matteo Noor Otto Paloma Rafael Selin Tobias'
).split(' ');
const CITIES = (
  'Lisbon Porto Seville Lyon Bruges Krakow Tallinn Bergen Naples Palermo Ghent Leipzig Graz ' +
  'Ljubljana Split Valletta Cork Galway Bilbao Turin Bologna Utrecht Aarhus Gdansk Brno Riga ' +
  'Vilnius Sofia Plovdiv Thessaloniki Nantes Dijon Salzburg Innsbruck Basel Lucerne Malaga Cadiz'
).split(' ');
const FOODS = (
  'risotto ramen paella dumplings falafel lasagna tacos curry pierogi goulash gnocchi ' +
  'shakshuka bibimbap moussaka ceviche pho laksa tagine biryani empanadas'
).split(' ');
const ALLERGENS = (
  'peanuts cashews almonds hazelnuts walnuts pecans pistachios sesame mustard celery lupin ' +
  'shellfish soy kiwi'
).split(' ');
const HOBBIES = (
  'pottery climbing chess birdwatching sailing knitting photography cycling gardening fencing ' +
  'archery baking kayaking origami calligraphy'
).split(' ');

/** Mulberry32: small, fast, and the same sequence for the same seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Fact = { category: MemoryCategory; key: string; value: string };
interface Entities {
  name: string;
  city: string;
  food: string;
  hobby: string;
  allergen: string;
}
type Template = (e: Entities) => {
  fact: Omit<Fact, 'key'> & { slug: string };
  question: string;
};

/** Probe templates: the question shares a name or a word stem with the fact, rarely more. */
const PROBES: Template[] = [
  ({ name, city }) => ({
    fact: {
      category: 'relationship',
      slug: 'sister',
      value: `Her sister ${name} moved to ${city}`,
    },
    question: `How is ${name} settling in after the move?`,
  }),
  ({ city }) => ({
    fact: { category: 'fact', slug: 'trip', value: `Planning a trip to ${city} in the spring` },
    question: `Any tips for my ${city} travels?`,
  }),
  ({ food }) => ({
    fact: {
      category: 'preference',
      slug: 'dish',
      value: `Favorite dish is ${food} with extra chili`,
    },
    question: `Could you suggest a good ${food} recipe for tonight?`,
  }),
  ({ name }) => ({
    fact: {
      category: 'relationship',
      slug: 'wedding',
      value: `Best friend ${name} gets married in June`,
    },
    question: `What should I get ${name} as a wedding present?`,
  }),
  ({ name }) => ({
    fact: { category: 'fact', slug: 'pet', value: `Has a border collie named ${name}` },
    question: `My dog ${name} keeps barking at night, any advice?`,
  }),
  ({ hobby }) => ({
    fact: { category: 'preference', slug: 'hobby', value: `Took up ${hobby} last year` },
    question: `Where can I find a ${hobby} club nearby?`,
  }),
  ({ allergen }) => ({
    fact: { category: 'preference', slug: 'allergy', value: `Allergic to ${allergen}` },
    question: `Does this cake have ${allergen} in it? You know my allergies.`,
  }),
  ({ name, city }) => ({
    fact: {
      category: 'project',
      slug: 'order',
      value: `Complained that the ${city} order for ${name} arrived damaged`,
    },
    question: `Any news on ${name}'s order? It came broken.`,
  }),
];

/** Filler facts: the same entities, saying other things. */
const FILLERS: ((e: Entities) => string)[] = [
  ({ name }) => `Had coffee with ${name} from work`,
  ({ city }) => `Watched a documentary about ${city}`,
  ({ food }) => `Tried a new ${food} place that was just okay`,
  ({ hobby }) => `Read an article about ${hobby}`,
  ({ name, city }) => `Colleague ${name} is from ${city}`,
  ({ city }) => `Flight connection went through ${city} once`,
  ({ food, name }) => `Cooked ${food} for ${name}'s birthday`,
  () => 'Mentioned the weather was rainy again',
  ({ hobby, name }) => `${name} invited them to a ${hobby} evening`,
];

/**
 * @param n current facts the caller has (at least 2)
 * @param options how many probes (default min(40, n - 1)) and the seed
 * @returns the history, newest first, with the probes' questions
 */
export function recallHistory(
  n: number,
  options: { probes?: number; seed?: number } = {},
): RecallHistory {
  const random = prng(options.seed ?? 19);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const entities = (): Entities => ({
    name: pick(NAMES),
    city: pick(CITIES),
    food: pick(FOODS),
    hobby: pick(HOBBIES),
    allergen: pick(ALLERGENS),
  });
  const probeCount = Math.min(options.probes ?? 40, n - 1);
  // Probes sit at random places in the history (not all recent, not all old).
  const probeAt = new Set<number>();
  while (probeAt.size < probeCount) probeAt.add(1 + Math.floor(random() * (n - 1)));

  const facts: Fact[] = [{ category: 'identity', key: 'name', value: 'Name is Robin' }];
  const probes: Probe[] = [];
  for (let i = 1; i < n; i++) {
    const e = entities();
    if (probeAt.has(i)) {
      const { fact, question } = PROBES[probes.length % PROBES.length]!(e);
      const key = `${fact.slug}_${i}`;
      facts.push({ category: fact.category, key, value: fact.value });
      probes.push({ key, question });
    } else {
      facts.push({ category: 'fact', key: `note_${i}`, value: pick(FILLERS)(e) });
    }
  }
  // Index 0 is the oldest: a minute apart, the last one newest.
  const start = Date.UTC(2026, 0, 1);
  const memories = facts.map((f, i) => {
    const at = new Date(start + i * 60_000);
    return { ...f, confidence: 0.9, source: 'extraction' as const, createdAt: at, updatedAt: at };
  });
  const [name, ...rest] = memories;
  return { memories: [name!, ...rest.reverse()], probes };
}
