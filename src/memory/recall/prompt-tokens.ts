/**
 * Prompt size in tokens, estimated: about four characters a token for English text (OpenAI's
 * rule of thumb). An estimate, not a tokenizer: it bounds the prompt without a model's
 * vocabulary in the job process, and errs high on the short words facts are made of.
 */
import type { StoredMemory } from '../../store/memory-store.js';

/** Characters per token in the estimate. */
export const CHARS_PER_TOKEN = 4;

/**
 * @param text any text
 * @returns its estimated size in tokens (characters / 4, rounded up)
 */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

/**
 * @param memory a memory as the prompt shows it (`- category/key: "value"`)
 * @returns its estimated size in tokens, line included
 */
export function memoryTokens(memory: Pick<StoredMemory, 'category' | 'key' | 'value'>): number {
  // "- " + "/" + ": " + two quotes + the line break: 8 characters around the three fields.
  return estimateTokens(`${memory.category}${memory.key}${memory.value}`) + 2;
}
