/**
 * A memory as the prompt prints it, one line: `- category/key: "value"`. The value is quoted as
 * JSON data: a memory that reads like an instruction is shown as what the caller said, never
 * followed. The instructions' block and each turn's block print the same lines, and the token
 * estimate counts them as printed.
 */
import type { StoredMemory } from '../../store/memory-store.js';

/**
 * A value as a JSON string that stays on its line and inside its block: `<` and `>` (a value
 * holding `</memories>` must not close the block) and the line separators JSON leaves raw are
 * escaped too. JSON.parse gives the value back unchanged.
 * @param value a memory's value
 * @returns it quoted, as printed
 */
function quotedValue(value: string): string {
  return JSON.stringify(value).replace(
    /[<>\u0085\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * @param memory a memory
 * @returns its line in the prompt, without the line break
 */
export function promptLine(memory: Pick<StoredMemory, 'category' | 'key' | 'value'>): string {
  return `- ${memory.category}/${memory.key}: ${quotedValue(memory.value)}`;
}
