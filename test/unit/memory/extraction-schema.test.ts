/**
 * The extraction's JSON schema is derived from its zod schema: it must satisfy OpenAI's strict
 * mode (every object closed, every property required), say what the hand-written schema it
 * replaced said, and accept what the local OpenAI stand-in answers to the extractor's request.
 */
import { describe, expect, it } from 'vitest';
import { parseAnswer } from '../../../src/memory/extraction/answer-parsing.js';
import {
  EXTRACTION_JSON_SCHEMA,
  extractionMessages,
} from '../../../src/memory/extraction/extraction-prompt.js';
import type { Turn } from '../../../src/memory/outbox/outbox.js';
import { MEMORY_CATEGORIES } from '../../../src/store/memory-store.js';
import { defaultChatResponder } from '../../support/openai-chat-responder.js';

type Schema = Record<string, unknown>;

/** The schema the extractor sent before it was derived (written by hand, kept here to compare). */
const HAND_WRITTEN_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['memories'],
  properties: {
    memories: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['category', 'key', 'value', 'confidence'],
        properties: {
          category: { type: 'string', enum: [...MEMORY_CATEGORIES] },
          key: { type: 'string', description: 'short snake_case slug, stable across calls' },
          value: { type: 'string', description: 'one self-contained fact, under 40 words' },
          confidence: { type: 'number', minimum: 0, maximum: 1 },
        },
      },
    },
  },
};

/** Every object schema inside `schema`, with where it is. */
function objectsIn(schema: Schema, path = '$'): { path: string; schema: Schema }[] {
  const found = schema.type === 'object' ? [{ path, schema }] : [];
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const nested: [string, Schema][] = Object.entries(properties).map(([name, s]) => [
    `${path}.${name}`,
    s,
  ]);
  if (schema.items) nested.push([`${path}[]`, schema.items as Schema]);
  return [...found, ...nested.flatMap(([p, s]) => objectsIn(s, p))];
}

/**
 * Checks a value against the keywords the extraction schema uses (type, enum, required,
 * properties, additionalProperties, items, minimum, maximum), as OpenAI's strict mode does.
 * @returns where the value breaks the schema; empty when it conforms
 */
function violations(value: unknown, schema: Schema, path = '$'): string[] {
  const type = schema.type;
  if (type === 'object') {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return [path];
    const record = value as Record<string, unknown>;
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    const missing = ((schema.required ?? []) as string[]).filter((k) => !(k in record));
    const extra = Object.keys(record).filter((k) => !(k in properties));
    return [
      ...missing.map((k) => `${path}.${k} missing`),
      ...(schema.additionalProperties === false ? extra.map((k) => `${path}.${k} extra`) : []),
      ...Object.entries(properties).flatMap(([k, s]) =>
        k in record ? violations(record[k], s, `${path}.${k}`) : [],
      ),
    ];
  }
  if (type === 'array') {
    if (!Array.isArray(value)) return [path];
    return value.flatMap((v, i) => violations(v, schema.items as Schema, `${path}[${i}]`));
  }
  if (type === 'string' && typeof value !== 'string') return [path];
  if (type === 'number' && typeof value !== 'number') return [path];
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) return [`${path} not in enum`];
  if (typeof schema.minimum === 'number' && (value as number) < schema.minimum) return [path];
  if (typeof schema.maximum === 'number' && (value as number) > schema.maximum) return [path];
  return [];
}

const turn = (userText: string): Turn => ({
  id: 'unit',
  userId: 'caller',
  userText,
  assistantText: 'Noted.',
  at: new Date(0).toISOString(),
});

describe('the extraction answer schema, derived from zod', () => {
  it('satisfies strict mode: every object closed, every property required', () => {
    const objects = objectsIn(EXTRACTION_JSON_SCHEMA);
    expect(objects.map((o) => o.path)).toEqual(['$', '$.memories[]']);
    for (const { path, schema } of objects) {
      expect(schema.additionalProperties, path).toBe(false);
      const properties = Object.keys(schema.properties as Schema).sort();
      expect(properties.length, path).toBeGreaterThan(0);
      expect([...(schema.required as string[])].sort(), path).toEqual(properties);
    }
    // Strict mode knows no `$schema` dialect keyword; zod adds one, the derivation drops it.
    expect(EXTRACTION_JSON_SCHEMA).not.toHaveProperty('$schema');
  });

  it('says what the hand-written schema it replaced said', () => {
    expect(EXTRACTION_JSON_SCHEMA).toEqual(HAND_WRITTEN_SCHEMA);
  });

  it('accepts what the OpenAI stand-in answers to the extractor’s request, as the old one did', async () => {
    const messages = extractionMessages(
      [turn('Hi, my name is Maya.'), turn("I'm working on a garden shed. I like green tea.")],
      [],
      2_000,
    );
    const reply = await defaultChatResponder({
      model: 'gpt-4o-mini',
      messages: messages.map((m) => ({ role: m.role, content: m.content as string })),
      response_format: { type: 'json_schema' },
    });
    const answer = JSON.parse(reply.content ?? '') as unknown;
    expect(violations(answer, EXTRACTION_JSON_SCHEMA)).toEqual([]);
    expect(violations(answer, HAND_WRITTEN_SCHEMA)).toEqual([]);
    const parsed = parseAnswer(reply.content ?? '');
    expect(parsed.items.map((i) => i.key).sort()).toEqual([
      'current_project',
      'favorite_green_tea',
      'name',
    ]);
    expect(parsed.droppedInvalid).toBe(0);
  });

  it('refuses, as the old one did, answers strict mode would never send', () => {
    const item = { category: 'identity', key: 'name', value: 'Name is Maya', confidence: 0.9 };
    const broken = [
      { memories: [{ ...item, mood: 'happy' }] },
      { memories: [{ ...item, confidence: undefined }] },
      { memories: [{ ...item, category: 'gossip' }] },
      { memories: [{ ...item, confidence: 2 }] },
      { memories: [item], note: 'extra' },
    ].map((answer) => JSON.parse(JSON.stringify(answer)) as unknown);
    for (const answer of broken) {
      expect(violations(answer, EXTRACTION_JSON_SCHEMA)).not.toEqual([]);
      expect(violations(answer, HAND_WRITTEN_SCHEMA)).not.toEqual([]);
    }
  });
});
