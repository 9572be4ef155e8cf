/**
 * Drops the properties whose value is `undefined`, so that an absent setting leaves the
 * receiver's default in place: with `{ ...defaults, ...options }` or an optional property, an
 * explicit `undefined` would otherwise replace the default (a 5 s retry became `setTimeout(fn,
 * undefined)`, a hot loop).
 *
 * @param values an object whose properties may be `undefined`
 * @returns a copy holding only the properties that have a value
 */
export function withoutUndefined<T extends object>(
  values: T,
): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}
