/** The operator's `.env` file, read into the environment before the configuration is loaded. */
import { existsSync } from 'node:fs';

/**
 * Reads a `.env` file into `process.env` when it exists; a variable already in the environment
 * keeps its value (the real environment wins).
 * @param path the file, relative to the working directory (default `.env`)
 */
export function loadDotEnv(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}
