//! A stable sort of keys, as the order of their indexes: ties keep index order, keys compare as
//! `compareValues` has them. Used where novelty is regrouped from one index order into another
//! (by attribute, by value within an attribute, by referenced entity): the keys there are mostly
//! integers (ids, longs) or strings, which take faster paths than a comparison sort of values.
//!
//!   integers spanning < 2^32   LSD radix sort, 16-bit digits: linear in the count
//!   strings, few distinct      grouped by a Map, the distinct keys sorted once
//!   other numbers and strings  a comparison sort of indexes over unboxed keys
//!   anything else              a comparison sort of indexes by compareValues
import { compareValues } from '../values/compare.ts';

/** The indexes of `keys` in stable key order. */
export function stableOrder(keys: readonly unknown[]): Uint32Array {
  const n = keys.length;
  let numbers = true;
  let strings = true;
  for (let i = 0; i < n; i++) {
    const type = typeof keys[i];
    if (type !== 'number') numbers = false;
    if (type !== 'string') strings = false;
  }
  if (n < 2) return indexOrder(n, () => 0);
  if (numbers) return integerOrder(keys as number[]) ?? numberOrder(keys as number[]);
  if (strings) return stringOrder(keys as string[]);
  return indexOrder(n, (i, j) => compareValues(keys[i], keys[j]));
}

/** Indexes 0..n-1 stably sorted by `compare` (ties keep index order). */
function indexOrder(n: number, compare: (i: number, j: number) => number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return order.sort((i, j) => compare(i, j) || i - j);
}

/** A stable LSD radix sort (16-bit digits) of integer keys within 2^32 of each other; null for other numbers. */
function integerOrder(keys: readonly number[]): Uint32Array | null {
  const n = keys.length;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    if (!Number.isInteger(k)) return null;
    if (k < min) min = k;
    if (k > max) max = k;
  }
  const span = max - min;
  if (span >= 2 ** 32) return null;
  const low = new Uint32Array(n);
  for (let i = 0; i < n; i++) low[i] = keys[i]! - min; // -0 and 0 are one key, as compareValues has them
  let order = new Uint32Array(n);
  let next = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const counts = new Uint32Array(65537);
  for (let shift = 0; shift < 32 && span >= 2 ** shift; shift += 16) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[((low[order[i]!]! >>> shift) & 0xffff) + 1]!++;
    for (let d = 0; d < 65536; d++) counts[d + 1]! += counts[d]!;
    for (let i = 0; i < n; i++) {
      const j = order[i]!;
      next[counts[(low[j]! >>> shift) & 0xffff]!++] = j;
    }
    [order, next] = [next, order];
  }
  return order;
}

/** Numbers by value (NaN last, as compareValues). */
function numberOrder(keys: readonly number[]): Uint32Array {
  const values = Float64Array.from(keys);
  const nan = (i: number): number => (Number.isNaN(values[i]!) ? 1 : 0);
  return indexOrder(keys.length, (i, j) => nan(i) - nan(j) || (nan(i) === 1 ? 0 : values[i]! - values[j]!));
}

/** Strings by UTF-16 code units (as compareValues): grouped when few are distinct, else sorted by index. */
function stringOrder(keys: readonly string[]): Uint32Array {
  const n = keys.length;
  const groups = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    const group = groups.get(keys[i]!);
    if (group !== undefined) group.push(i);
    else if (groups.size * 8 > n) return indexOrder(n, (a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : 0));
    else groups.set(keys[i]!, [i]);
  }
  const order = new Uint32Array(n);
  let at = 0;
  for (const key of [...groups.keys()].sort()) for (const i of groups.get(key)!) order[at++] = i;
  return order;
}
