/** Memories as the extractor hands them to the store, for tests that seed a caller's history. */
import type { MemoryInput } from '../../src/store/memory-store.js';

/**
 * @param category the memory's category
 * @param key its key (one current value per caller and key)
 * @param value what was learned
 * @returns an extracted memory with the extractor's usual confidence
 */
export const extractedMemory = (
  category: MemoryInput['category'],
  key: string,
  value: string,
): MemoryInput => ({ category, key, value, confidence: 0.9, source: 'extraction' });
