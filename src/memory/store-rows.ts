/**
 * The shapes the migration's functions take and return, and their mapping to the store
 * interface: shared by the Postgres store (Date columns) and the Supabase store (ISO strings).
 */
import type { StoredGreeting } from '../greeting/greeting-store.js';
import type { MemoryCategory, MemoryInput, MemorySource, StoredMemory } from './types.js';

export interface MemoryRow {
  category: MemoryCategory;
  key: string;
  value: string;
  confidence: number;
  source: MemorySource;
  created_at: Date | string;
  updated_at: Date | string;
}

export interface GreetingRow {
  text: string;
  created_at: Date | string;
  expires_at: Date | string;
  stale: boolean;
}

/** One `save_memories` item (a type alias, not an interface: it must pass as plain JSON). */
export type MemoryItem = {
  category: MemoryCategory;
  key: string;
  value: string;
  confidence: number;
  source: MemorySource;
};

/** `save_memories`' items: exactly the fields it reads, nothing a caller object carries besides. */
export function memoryItems(items: readonly MemoryInput[]): MemoryItem[] {
  return items.map(({ category, key, value, confidence, source }) => ({
    category,
    key,
    value,
    confidence,
    source,
  }));
}

export function toStoredMemory(row: MemoryRow): StoredMemory {
  return {
    category: row.category,
    key: row.key,
    value: row.value,
    confidence: Number(row.confidence),
    source: row.source,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

export function toStoredGreeting(row: GreetingRow | undefined): StoredGreeting | undefined {
  return row
    ? {
        text: row.text,
        createdAt: new Date(row.created_at),
        expiresAt: new Date(row.expires_at),
        stale: row.stale,
      }
    : undefined;
}
