//! Representational equality of EDN values: true when two values print the same EDN text (up to
//! the order of map entries and set elements). It is stricter than the index order's
//! `valuesEqual`: `1` and `1N` differ, `1.5M` and `1.50M` differ, `0.0` and `-0.0` differ, and
//! `##NaN` equals itself. The reader uses it to reject duplicate map keys and set elements that
//! are composite; round-trip tests use it to check print→read and encode→decode.
import { BigDec, Keyword, List, Sym, Tagged, Uri, Uuid } from '../values/values.ts';

export function ednEqual(a: unknown, b: unknown): boolean {
  if (a === b) return typeof a !== 'number' || a !== 0 || Object.is(a, b);
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return typeof a === 'number' && typeof b === 'number' && a !== a && b !== b; // NaN
  }
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b) && !(isPlainObject(a) && isPlainObject(b))) return false;
  if (Array.isArray(a)) return sequencesEqual(a, b as unknown[]);
  if (a instanceof List) return sequencesEqual(a.items, (b as List).items);
  if (a instanceof Map) return mapsEqual(a, b as Map<unknown, unknown>);
  if (a instanceof Set) return setsEqual(a, b as Set<unknown>);
  if (a instanceof BigDec) return a.unscaled === (b as BigDec).unscaled && a.scale === (b as BigDec).scale;
  if (a instanceof Date) return Object.is(a.getTime(), (b as Date).getTime());
  if (a instanceof Uuid || a instanceof Uri) return a.text === (b as Uuid | Uri).text;
  if (a instanceof Uint8Array) return bytesEqual(a, b as Uint8Array);
  if (a instanceof Tagged) return a.tag === (b as Tagged).tag && ednEqual(a.value, (b as Tagged).value);
  return objectsEqual(a as Record<string, unknown>, b as Record<string, unknown>);
}

/** An object made by `{}` or `Object.create(null)`: printed and encoded as a map of its keys. */
function isPlainObject(value: object): boolean {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function sequencesEqual(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!ednEqual(a[i], b[i])) return false;
  return true;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Whether a value is its own key in a JS Map, so that `Map.has` finds equal keys: primitives, and
 * keywords and symbols, which are interned. Every other object compares by content. (A JS Map
 * cannot tell `0` from `-0` as keys; neither can EDN maps here.)
 */
export function isPrimitiveKey(key: unknown): boolean {
  return typeof key !== 'object' || key === null || key instanceof Keyword || key instanceof Sym;
}

/** The key of `map` that is ednEqual to `key`, or undefined. */
export function findKey(map: Map<unknown, unknown> | Set<unknown>, key: unknown): { key: unknown } | undefined {
  if (isPrimitiveKey(key)) return map.has(key) ? { key } : undefined;
  for (const candidate of map.keys()) if (ednEqual(candidate, key)) return { key: candidate };
  return undefined;
}

function mapsEqual(a: Map<unknown, unknown>, b: Map<unknown, unknown>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, value] of a) {
    const found = findKey(b, key);
    if (found === undefined || !ednEqual(value, b.get(found.key))) return false;
  }
  return true;
}

function setsEqual(a: Set<unknown>, b: Set<unknown>): boolean {
  if (a.size !== b.size) return false;
  for (const element of a) if (findKey(b, element) === undefined) return false;
  return true;
}

function objectsEqual(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) {
    if (!Object.prototype.hasOwnProperty.call(b, key) || !ednEqual(a[key], b[key])) return false;
  }
  return true;
}
