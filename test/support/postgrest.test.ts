/** Where the PostgREST suites decide to run or skip: never a skip in CI. */
import { describe, expect, it } from 'vitest';
import { postgrestBinaryFor } from './postgrest.js';

describe('the PostgREST suites', () => {
  it('run whenever the binary is installed', () => {
    expect(postgrestBinaryFor('/bin/postgrest', { CI: 'true' })).toBe('/bin/postgrest');
    expect(postgrestBinaryFor('/bin/postgrest', {})).toBe('/bin/postgrest');
  });

  it('skip without the binary on a developer machine', () => {
    for (const CI of [undefined, '', '0', 'false', 'FALSE']) {
      expect(postgrestBinaryFor(undefined, CI === undefined ? {} : { CI })).toBeUndefined();
    }
  });

  it('fail, not skip, without the binary in CI', () => {
    for (const CI of ['true', '1', 'TRUE', 'yes']) {
      expect(() => postgrestBinaryFor(undefined, { CI })).toThrow(
        /CI is set and the PostgREST binary .* is not installed/,
      );
    }
  });
});
