// Objects built from a list of keys, typed by the keys (Object.fromEntries would give
// Record<string, V>): how the fields named once in a list (RESOURCE_FIELDS) become the fields of
// an object on both sides.

/** An object with one value per key, in the keys' order. */
export function fromKeys<K extends string, V>(keys: readonly K[], value: (key: K) => V): Record<K, V> {
  const out = {} as Record<K, V>;
  for (const k of keys) out[k] = value(k);
  return out;
}
