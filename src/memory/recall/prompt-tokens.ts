/**
 * Prompt size in tokens, estimated: about four characters a token for English text (OpenAI's
 * rule of thumb), and one token for each character outside ASCII (CJK, accents, emoji: a
 * tokenizer spends at least one on each). An estimate, not a tokenizer: it bounds the prompt
 * without a model's vocabulary in the job process, and errs high on the short words facts are
 * made of.
 */
import type { StoredMemory } from '../../store/memory-store.js';
import { promptLine } from './prompt-line.js';

/** ASCII characters per token in the estimate. */
export const CHARS_PER_TOKEN = 4;

/**
 * @param text any text
 * @returns its estimated size in tokens: ASCII characters / 4 (rounded up), plus one for each
 *   other character (code point)
 */
function estimateTokens(text: string): number {
  let ascii = 0;
  let other = 0;
  for (const char of text) {
    if (char.charCodeAt(0) < 0x80) ascii++;
    else other++;
  }
  return Math.ceil(ascii / CHARS_PER_TOKEN) + other;
}

/**
 * @param memory a memory
 * @returns its estimated size in tokens, as the prompt prints it (escapes and line break included)
 */
export function memoryTokens(memory: Pick<StoredMemory, 'category' | 'key' | 'value'>): number {
  return estimateTokens(`${promptLine(memory)}\n`);
}
