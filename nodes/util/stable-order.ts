//! A stable sort of keys, as the order of their indexes: ties keep index order, keys compare as
//! `compareValues` has them. Used where novelty is regrouped from one index order into another
//! (by attribute, by value within an attribute, by referenced entity): the keys there are mostly
//! integers (ids, longs) or strings, which take faster paths than a comparison sort of values.
//!
//!   integers                   LSD radix sort, 16-bit digits: linear in the count
//!   instants                   the same, by their milliseconds
//!   strings, few distinct      grouped by a Map, the distinct keys sorted once
//!   keywords, few distinct     the same (keywords are interned: equal ones are one object)
//!   other numbers and strings  a comparison sort of indexes over unboxed keys
//!   anything else              a comparison sort of indexes by compareValues
import { compareValues } from '../values/compare.ts';
import { Keyword } from '../values/values.ts';

/** Indexes in order: a plain array for a few keys (a typed array costs more to allocate), else a Uint32Array. */
export type Order = Uint32Array | number[];

/** The indexes of `keys` in stable key order. */
export function stableOrder(keys: readonly unknown[]): Order {
  const n = keys.length;
  let numbers = true;
  let strings = true;
  let dates = true;
  let keywords = true;
  for (let i = 0; i < n; i++) {
    const key = keys[i];
    const type = typeof key;
    if (type !== 'number') numbers = false;
    if (type !== 'string') strings = false;
    if (!(key instanceof Date)) dates = false;
    if (!(key instanceof Keyword)) keywords = false;
  }
  if (n < 2) return indexOrder(n, () => 0);
  if (numbers) return integerOrder(keys as number[]) ?? numberOrder(keys as number[]);
  if (strings) return groupedOrder(keys as string[], (a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (dates) {
    const ms = new Float64Array(n);
    for (let i = 0; i < n; i++) ms[i] = (keys[i] as Date).getTime();
    const order = integerOrder(ms);
    if (order !== null) return order;
  }
  if (keywords) return groupedOrder(keys as Keyword[], compareValues);
  return indexOrder(n, (i, j) => compareValues(keys[i], keys[j]));
}

/** Indexes 0..n-1 stably sorted by `compare` (ties keep index order). */
function indexOrder(n: number, compare: (i: number, j: number) => number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return order.sort((i, j) => compare(i, j) || i - j);
}

const TWO_TO_32 = 2 ** 32;

/**
 * A stable LSD radix sort of integer keys: 16 bits a pass over the low and high 32-bit words of
 * each key minus the least (so negative keys work too); a pass whose digit every key shares is
 * skipped, so ids that differ only in their low bits take one or two passes. Keys already
 * ascending cost one pass, and a few ascending runs are merged instead. Null when a key is not an
 * integer or the keys span more than a safe integer.
 */
export function integerOrder(keys: ArrayLike<number>): Order | null {
  const n = keys.length;
  let min = Infinity;
  let max = -Infinity;
  // Where each ascending run starts, while there are few of them.
  const starts: number[] = [0];
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    if (!Number.isInteger(k)) return null;
    if (i > 0 && k < keys[i - 1]! && starts.length <= RUNS_MAX) starts.push(i);
    if (k < min) min = k;
    if (k > max) max = k;
  }
  if (n > 0 && !Number.isSafeInteger(max - min)) return null;
  // Already in order, or a few ascending runs (rows in entity order, then the transaction's own
  // row, whose id sorts first): merging the runs costs less than the radix passes.
  if (starts.length <= RUNS_MAX) return mergedRuns(keys, starts);
  // Few keys: a comparison sort costs less than clearing the radix passes' counts.
  if (n < RADIX_KEYS_MIN) return indexOrder(n, (i, j) => keys[i]! - keys[j]!);
  const low = new Uint32Array(n);
  const high = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const k = keys[i]! - min; // -0 and 0 are one key, as compareValues has them
    low[i] = k >>> 0; // k mod 2^32, exact for a safe integer
    high[i] = Math.floor(k / TWO_TO_32);
  }
  let order = new Uint32Array(n);
  let next = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const counts = new Uint32Array(65536);
  for (let pass = 0; pass < 4 && n > 1; pass++) {
    const words = pass < 2 ? low : high;
    const shift = (pass & 1) * 16;
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[(words[i]! >>> shift) & 0xffff]!++;
    if (counts[(words[0]! >>> shift) & 0xffff] === n) continue;
    let sum = 0;
    for (let d = 0; d < 65536; d++) {
      const c = counts[d]!;
      counts[d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const j = order[i]!;
      next[counts[(words[j]! >>> shift) & 0xffff]!++] = j;
    }
    [order, next] = [next, order];
  }
  return order;
}

/** Fewer keys than this, in more runs than RUNS_MAX, are sorted by comparison, not by radix. */
const RADIX_KEYS_MIN = 512;

/** At most this many ascending runs are merged rather than radix-sorted (log2: 4 merge passes). */
const RUNS_MAX = 16;

/** The stable order of keys made of ascending runs starting at `starts`, by merging neighbouring runs. */
function mergedRuns(keys: ArrayLike<number>, starts: readonly number[]): Order {
  const n = keys.length;
  let order: Order = n < RADIX_KEYS_MIN ? new Array<number>(n) : new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (starts.length === 1) return order;
  let next: Order = n < RADIX_KEYS_MIN ? new Array<number>(n) : new Uint32Array(n);
  let runs = starts;
  while (runs.length > 1) {
    const merged: number[] = [];
    for (let r = 0; r < runs.length; r += 2) {
      const from = runs[r]!;
      const middle = r + 1 < runs.length ? runs[r + 1]! : n;
      const to = r + 2 < runs.length ? runs[r + 2]! : n;
      merged.push(from);
      let i = from;
      let j = middle;
      let at = from;
      // Ties take the left run first: its indexes are the smaller.
      while (i < middle && j < to) next[at++] = keys[order[j]!]! < keys[order[i]!]! ? order[j++]! : order[i++]!;
      while (i < middle) next[at++] = order[i++]!;
      while (j < to) next[at++] = order[j++]!;
    }
    [order, next] = [next, order];
    runs = merged;
  }
  return order;
}

/** Numbers by value (NaN last, as compareValues). */
function numberOrder(keys: readonly number[]): Uint32Array {
  const values = Float64Array.from(keys);
  const nan = (i: number): number => (Number.isNaN(values[i]!) ? 1 : 0);
  return indexOrder(keys.length, (i, j) => nan(i) - nan(j) || (nan(i) === 1 ? 0 : values[i]! - values[j]!));
}

/**
 * Keys that are equal only when identical (strings, interned keywords) by `compare`: grouped by
 * a Map when few are distinct, the distinct keys sorted once; else sorted by index.
 */
function groupedOrder<K>(keys: readonly K[], compare: (a: K, b: K) => number): Uint32Array {
  const n = keys.length;
  const groups = new Map<K, number[]>();
  for (let i = 0; i < n; i++) {
    const group = groups.get(keys[i]!);
    if (group !== undefined) group.push(i);
    else if (groups.size * 8 > n) return indexOrder(n, (a, b) => compare(keys[a]!, keys[b]!));
    else groups.set(keys[i]!, [i]);
  }
  const order = new Uint32Array(n);
  let at = 0;
  for (const key of [...groups.keys()].sort(compare)) for (const i of groups.get(key)!) order[at++] = i;
  return order;
}
