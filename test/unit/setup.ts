/**
 * The unit tier runs its files one after another in a shared worker (no isolation: the framework
 * loads once, not once per file). Whatever a file changed globally is put back when it ends, so
 * the next file starts clean; a unit file leaves nothing else behind (process.env included).
 */
import { afterAll, vi } from 'vitest';

afterAll(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
  vi.unstubAllGlobals();
});
