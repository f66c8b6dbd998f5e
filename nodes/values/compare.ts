//! The total order of values used by every index, and value equality consistent with it.
//!
//! Values of one attribute share a type, so most comparisons are within a type; across types a
//! fixed rank decides (null < boolean < number/bigint < BigDec < string < Keyword < Sym < Date <
//! Uuid < Uri < bytes < tuple). Numbers and bigints share a rank and compare numerically, because a
//! `long` is a number when safe and a bigint beyond 2^53. Strings compare by UTF-16 code unit,
//! as Java's String.compareTo does in Datomic. NaN sorts after every other number.
import { BigDec, Keyword, Sym, Uri, Uuid } from './values.ts';

function rank(v: unknown): number {
  switch (typeof v) {
    case 'number':
    case 'bigint':
      return 2;
    case 'string':
      return 4;
    case 'boolean':
      return 1;
    case 'object':
      if (v === null) return 0;
      if (v instanceof Keyword) return 5;
      if (v instanceof BigDec) return 3;
      if (v instanceof Sym) return 6;
      if (v instanceof Date) return 7;
      if (v instanceof Uuid) return 8;
      if (v instanceof Uri) return 9;
      if (v instanceof Uint8Array) return 10;
      if (Array.isArray(v)) return 11;
      return 12;
    default:
      return 13;
  }
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareNumbers(a: number | bigint, b: number | bigint): number {
  if (a < b) return -1;
  if (a > b) return 1;
  if (a == b) return 0; // number vs bigint equality needs ==
  // NaN is involved: NaN sorts last and equals itself.
  const aNaN = typeof a === 'number' && Number.isNaN(a);
  const bNaN = typeof b === 'number' && Number.isNaN(b);
  return aNaN === bNaN ? 0 : aNaN ? 1 : -1;
}

function compareNamed(a: Keyword | Sym, b: Keyword | Sym): number {
  if (a === b) return 0;
  if (a.ns !== b.ns) {
    if (a.ns === null) return -1;
    if (b.ns === null) return 1;
    const c = compareStrings(a.ns, b.ns);
    if (c !== 0) return c;
  }
  return compareStrings(a.name, b.name);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

function compareTuples(a: readonly unknown[], b: readonly unknown[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareValues(a[i], b[i]);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

/** Total order of values: negative, zero or positive. */
export function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  const ta = typeof a;
  if (ta === typeof b) {
    if (ta === 'number' || ta === 'bigint') return compareNumbers(a as number, b as number);
    if (ta === 'string') return (a as string) < (b as string) ? -1 : 1;
    if (ta === 'boolean') return a ? 1 : -1;
  }
  if (a instanceof Date && b instanceof Date) return a.getTime() - b.getTime();
  if (a instanceof Keyword && b instanceof Keyword) return compareNamed(a, b);
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 2:
      return compareNumbers(a as number, b as number);
    case 3:
      return (a as BigDec).compare(b as BigDec);
    case 5:
    case 6:
      return compareNamed(a as Keyword, b as Keyword);
    case 7:
      return (a as Date).getTime() - (b as Date).getTime();
    case 8:
      return compareStrings((a as Uuid).text, (b as Uuid).text);
    case 9:
      return compareStrings((a as Uri).text, (b as Uri).text);
    case 10:
      return compareBytes(a as Uint8Array, b as Uint8Array);
    case 11:
      return compareTuples(a as unknown[], b as unknown[]);
    default:
      return 0;
  }
}

/** Value equality consistent with `compareValues` (1.5M equals 1.50M, 1 equals 1n). */
export function valuesEqual(a: unknown, b: unknown): boolean {
  return a === b || compareValues(a, b) === 0;
}

/**
 * A hash key consistent with `valuesEqual` and injective across types, for hash joins, sets of
 * values and fact keys. Strings, booleans, numbers, null, keywords and symbols are their own keys
 * (a bigint equal to a safe number keys as that number). Every other value keys as a string that
 * starts with NUL and a type letter; a string that itself starts with NUL is escaped with a
 * second NUL, so no string key can equal another type's key.
 */
export function valueKey(v: unknown): unknown {
  switch (typeof v) {
    case 'string':
      return v.charCodeAt(0) === 0 ? '\u0000' + v : v;
    case 'boolean':
    case 'number':
      return v;
    case 'bigint':
      return Number.isSafeInteger(Number(v)) && BigInt(Number(v)) === v ? Number(v) : '\u0000n' + v.toString();
    case 'object':
      if (v === null || v instanceof Keyword || v instanceof Sym) return v;
      if (v instanceof Date) return '\u0000d' + v.getTime();
      if (v instanceof BigDec) return '\u0000m' + canonicalBigDec(v);
      if (v instanceof Uuid) return '\u0000u' + v.text;
      if (v instanceof Uri) return '\u0000r' + v.text;
      if (v instanceof Uint8Array) return '\u0000b' + Buffer.from(v).toString('base64');
      if (Array.isArray(v)) return '\u0000t' + JSON.stringify(v.map(elementText));
      return v;
    default:
      return v;
  }
}

/** The text of a tuple element's key: distinct for distinct keys of any type. */
function elementText(x: unknown): string {
  const key = valueKey(x);
  switch (typeof key) {
    case 'string':
      return key;
    case 'number':
      return '\u0000#' + key;
    case 'boolean':
      return '\u0000?' + key;
    default:
      if (key === null) return '\u0000_';
      if (key instanceof Keyword) return '\u0000k' + key.fqn;
      if (key instanceof Sym) return '\u0000y' + key.fqn;
      return '\u0000o' + String(key);
  }
}

function canonicalBigDec(v: BigDec): string {
  let unscaled = v.unscaled;
  let scale = v.scale;
  while (scale > 0 && unscaled % 10n === 0n) {
    unscaled /= 10n;
    scale--;
  }
  return `${unscaled}e${scale}`;
}
