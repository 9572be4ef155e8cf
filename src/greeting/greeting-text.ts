/** Greeting texts that need no LLM, and the check every generated greeting passes before it is spoken. */
import type { StoredMemory } from '../store/memory-store.js';

export const NEW_CALLER_GREETING =
  "Hi, I'm your assistant. I'll remember what you tell me for next time. How can I help?";
export const GENERIC_GREETING = 'Hi there! How can I help you today?';
export const MAX_GREETING_LENGTH = 220;

/**
 * @param memories the caller's memories
 * @returns the caller's name, when one is remembered
 */
export function rememberedName(memories: readonly StoredMemory[]): string | undefined {
  const memory = memories.find(
    (m) => m.category === 'identity' && /(^|_)(name|first_name|preferred_name)$/.test(m.key),
  );
  if (!memory) return undefined;
  // Values are facts like "Name is Maya" or "Prefers to be called Maya": take the last word(s) after is/called.
  const match =
    /(?:\bis\b|\bcalled\b|:)\s*([\p{L}][\p{L}'’-]*(?:\s[\p{L}][\p{L}'’-]*)?)\s*\.?$/u.exec(
      memory.value.trim(),
    );
  const name =
    match?.[1] ??
    (/^[\p{L}][\p{L}'’-]*$/u.test(memory.value.trim()) ? memory.value.trim() : undefined);
  return name && name.length <= 40 ? name : undefined;
}

/**
 * Instant greeting for a caller with memories but no prepared greeting: personal, no LLM.
 * @param memories the caller's memories
 * @returns the greeting, by name when one is remembered
 */
export function templateGreeting(memories: readonly StoredMemory[]): string {
  if (memories.length === 0) return NEW_CALLER_GREETING;
  const name = rememberedName(memories);
  return name
    ? `Welcome back, ${name}! How can I help you today?`
    : 'Welcome back! How can I help you today?';
}

/**
 * A generated greeting as it may be spoken, or undefined when it must not be. Given the caller's
 * memories, a greeting that addresses anyone by another name (a model mixing callers up) fails.
 * @param raw what the model wrote
 * @param memories the caller's memories, to check the name it uses
 * @returns the greeting, trimmed, or undefined
 */
export function checkGreeting(raw: string, memories?: readonly StoredMemory[]): string | undefined {
  const text = raw
    .trim()
    .replace(/^["'“”‘’]+|["'“”‘’]+$/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  if (text.length < 2 || text.length > MAX_GREETING_LENGTH) return undefined;
  // Markup, code, links or e-mail addresses have no place in a spoken greeting.
  if (/[<>{}[\]*#`|\\]|https?:|www\.|@/i.test(text)) return undefined;
  if (/\b(as an ai|language model|i cannot|i can't help)\b/i.test(text)) return undefined;
  if (memories && !addressesOnly(text, rememberedName(memories))) return undefined;
  return text;
}

/** Names the greeting addresses ("Welcome back, Maya", "Hi Sam") must be the caller's own. */
function addressesOnly(text: string, name: string | undefined): boolean {
  const addressed =
    /\b(?:welcome back|welcome|hi|hello|hey|good (?:morning|afternoon|evening))[,!]?\s+([\p{Lu}][\p{L}'’-]*)/giu;
  const known = name?.toLowerCase().split(/\s+/) ?? [];
  for (const match of text.matchAll(addressed)) {
    const word = match[1]!;
    if (NOT_NAMES.has(word.toLowerCase())) continue;
    if (!known.includes(word.toLowerCase())) return false;
  }
  return true;
}

const NOT_NAMES = new Set([
  'there',
  'again',
  'back',
  'friend',
  'everyone',
  'and',
  'it',
  'to',
  'how',
  'i',
  'great',
  'good',
  'nice',
  'so',
]);
