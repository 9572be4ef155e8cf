/** Servers and pools a test opens, closed after each test, the last opened first. */
import { afterEach } from 'vitest';

interface Closable {
  close(): Promise<unknown>;
}

/**
 * Registers one `afterEach` for the calling file.
 * @returns a function that hands back what it is given, to be closed after the current test
 */
export function closedAfterEach(): <T extends Closable>(resource: T) => T {
  const open: Closable[] = [];
  afterEach(async () => {
    for (const resource of open.splice(0).reverse()) await resource.close();
  });
  return (resource) => {
    open.push(resource);
    return resource;
  };
}
