// Checks of untrusted JSON (what crosses between host and webview), built from small typed
// pieces. A `Check<T>` either returns its value as a T or throws `Invalid` naming the path of the
// first thing that is wrong ("view.nodes[3].count: expected a finite number, got string").
// `Shape<T>` is an object with a check for each field of T: written as `{...} satisfies Shape<T>`,
// a field added to T and not to its shape does not compile, so nothing goes unvalidated.

export class Invalid extends Error {}

/**
 * Returns `v` as a T, or throws Invalid naming it: `path`, or the field `key` of `path` (built
 * only for an error, or by a check that has fields of its own: a view has tens of thousands of
 * values, and naming each of them up front would double the cost of checking).
 */
export type Check<T> = (v: unknown, path: string, key?: string | number) => T;

/** The name of `path`'s field `key` ("view.nodes", "view.nodes[3]"); `path` without one. */
export const named = (path: string, key?: string | number): string =>
  key === undefined ? path : typeof key === 'number' ? `${path}[${key}]` : `${path}.${key}`;

/** One check per field of T, optional fields too (`-?`): their check accepts undefined (T[K] includes it). */
export type Shape<T> = { readonly [K in keyof T]-?: Check<T[K]> };

const what = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);

export const fail = (path: string, expected: string, v: unknown): never => {
  throw new Invalid(`${path}: expected ${expected}, got ${what(v)}`);
};

export const object: Check<Record<string, unknown>> = (v, path, key) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(named(path, key), 'an object', v);
  return v as Record<string, unknown>;
};

export const number: Check<number> = (v, path, key) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(named(path, key), 'a finite number', v);
  return v as number;
};

export const string: Check<string> = (v, path, key) => {
  if (typeof v !== 'string') fail(named(path, key), 'a string', v);
  return v as string;
};

export const boolean: Check<boolean> = (v, path, key) => {
  if (typeof v !== 'boolean') fail(named(path, key), 'a boolean', v);
  return v as boolean;
};

export const array: Check<readonly unknown[]> = (v, path, key) => {
  if (!Array.isArray(v)) fail(named(path, key), 'an array', v);
  return v as readonly unknown[];
};

/** An array whose items each pass `item` (named `path[i]`). */
export const list =
  <T>(item: Check<T>): Check<readonly T[]> =>
  (v, path, key) => {
    const here = named(path, key);
    array(v, here).forEach((x, i) => item(x, here, i));
    return v as readonly T[];
  };

/** `length` numbers (one per history point); `nullable`: null stands for a point with no value. */
export function series(length: number, nullable: true): Check<readonly (number | null)[]>;
export function series(length: number): Check<readonly number[]>;
export function series(length: number, nullable = false): Check<readonly (number | null)[]> {
  return (v, path, key) => {
    const a = array(v, path, key);
    if (a.length !== length) throw new Invalid(`${named(path, key)}: expected ${length} values (one per point), got ${a.length}`);
    a.forEach((x, i) => {
      if (nullable && x === null) return;
      if (typeof x !== 'number' || !Number.isFinite(x)) fail(named(named(path, key), i), nullable ? 'a finite number or null' : 'a finite number', x);
    });
    return a as readonly (number | null)[];
  };
}

/** An object whose every value passes `value` (a record with keys not known in advance). */
export const dictionary =
  <T>(value: Check<T>): Check<Readonly<Record<string, T>>> =>
  (v, path, key) => {
    const here = named(path, key);
    const o = object(v, here);
    for (const [k, x] of Object.entries(o)) value(x, here, k);
    return o as Readonly<Record<string, T>>;
  };

/** Absent (undefined) or passing `check`. */
export const optional =
  <T>(check: Check<T>): Check<T | undefined> =>
  (v, path, key) =>
    v === undefined ? undefined : check(v, path, key);

/** null or passing `check`. */
export const nullable =
  <T>(check: Check<T>): Check<T | null> =>
  (v, path, key) =>
    v === null ? null : check(v, path, key);

/**
 * An object whose fields pass their checks, in the shape's order (so the first wrong field is the
 * one reported). Returns the object itself: fields the shape does not name are kept, not copied.
 */
export const record = <T>(shape: Shape<T>): Check<T> => {
  const keys = Object.keys(shape) as (keyof T & string)[];
  return (v, path, key) => {
    const here = named(path, key);
    const o = object(v, here);
    for (const k of keys) shape[k](o[k], here, k);
    return o as T;
  };
};

/** `check`, then `also` on what it returned, named (relations between fields, or with other values). */
export const refine =
  <T>(check: Check<T>, also: (value: T, name: string) => void): Check<T> =>
  (v, path, key) => {
    const t = check(v, path, key);
    also(t, named(path, key));
    return t;
  };

/** One of `values` (a string union's members). */
export const member =
  <T extends string>(values: readonly T[]): Check<T> =>
  (v, path, key) => {
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) fail(named(path, key), oneOf(values), v);
    return v as T;
  };

/** "'a', 'b' or 'c'": the accepted values, for an error message. */
export const oneOf = (values: readonly string[]): string => {
  const q = values.map((x) => `'${x}'`);
  return q.length <= 1 ? (q[0] ?? 'nothing') : `${q.slice(0, -1).join(', ')} or ${q[q.length - 1]}`;
};
