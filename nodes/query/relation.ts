//! Relations: the tables a query is evaluated with. A relation has named columns (variables) and
//! rows (arrays of values, one per column). Joins are hash joins on the shared columns, the
//! smaller side hashed; set semantics (duplicate rows removed) are applied where Datomic's
//! results are sets, by the same keys.
//!
//! Keys: equal values (by the index's value equality: 1 equals 1N, 1.5M equals 1.50M) must give
//! equal keys and different values different keys. One column keys by `joinKey` (numbers, strings
//! and interned keywords stand for themselves); several columns by `rowKey`, a string where each
//! part is tagged and length-prefixed so no two different rows collide.
import { BigDec, Keyword, Sym, Uri, Uuid } from '../values/values.ts';
import { isTableKey, NumberMap, NumberSet } from './number-table.ts';

export interface Relation {
  readonly columns: readonly string[];
  readonly rows: unknown[][];
  /** Known to hold no duplicate rows (then projecting onto every column needs no set). */
  readonly distinct?: boolean;
  /** A column whose values are numbers in ascending order, row after row (from an index scan). */
  readonly sortedBy?: string;
}

/** The relation with no columns and one empty row: the identity of join. */
export function unitRelation(): Relation {
  return { columns: [], rows: [[]], distinct: true };
}

export function emptyRelation(columns: readonly string[]): Relation {
  return { columns, rows: [], distinct: true };
}

/** A key for one value, consistent with value equality. */
export function joinKey(v: unknown): unknown {
  switch (typeof v) {
    case 'number':
    case 'boolean':
      return v;
    case 'string':
      return v.charCodeAt(0) === 0 ? '\u0000s' + v : v;
    case 'bigint':
      return Number.isSafeInteger(Number(v)) ? Number(v) : '\u0000N' + v.toString();
    case 'undefined':
      return null;
    case 'object':
      if (v === null || v instanceof Keyword || v instanceof Sym) return v;
      return '\u0000' + objectText(v);
    default:
      return v;
  }
}

function objectText(v: object): string {
  if (v instanceof Date) return 'd' + v.getTime();
  if (v instanceof BigDec) return 'm' + canonicalBigDec(v);
  if (v instanceof Uuid) return 'u' + v.text;
  if (v instanceof Uri) return 'r' + v.text;
  if (v instanceof Uint8Array) return 'b' + Buffer.from(v).toString('base64');
  if (Array.isArray(v)) return 't' + v.map(partText).join('');
  return 'o' + identityOf(v);
}

const identities = new WeakMap<object, number>();
let nextIdentity = 1;
/** Objects without value equality (maps, functions) compare by identity. */
function identityOf(v: object): number {
  let id = identities.get(v);
  if (id === undefined) {
    id = nextIdentity++;
    identities.set(v, id);
  }
  return id;
}

function canonicalBigDec(v: BigDec): string {
  let unscaled = v.unscaled;
  let scale = v.scale;
  while (scale > 0 && unscaled % 10n === 0n) {
    unscaled /= 10n;
    scale--;
  }
  if (scale === 0 && Number.isSafeInteger(Number(unscaled))) return 'i' + unscaled.toString();
  return `${unscaled}e${scale}`;
}

/** One part of a composite key: tagged and, for text, length-prefixed. */
function partText(v: unknown): string {
  const k = joinKey(v);
  switch (typeof k) {
    case 'number':
      return 'n' + k + ';';
    case 'boolean':
      return k ? 'T' : 'F';
    case 'string':
      return 's' + k.length + ':' + k;
    case 'object':
      if (k === null) return 'z';
      if (k instanceof Keyword) return 'k' + k.fqn.length + ':' + k.fqn;
      if (k instanceof Sym) return 'y' + k.fqn.length + ':' + k.fqn;
      return 'o' + identityOf(k) + ';';
    default:
      return 'x' + String(k) + ';';
  }
}

/** A key for the values of `row` at `positions`. */
export function rowKey(row: readonly unknown[], positions: readonly number[]): unknown {
  if (positions.length === 1) return joinKey(row[positions[0]!]);
  let key = '';
  for (let i = 0; i < positions.length; i++) key += partText(row[positions[i]!]);
  return key;
}

/** A key for a whole row. */
export function wholeRowKey(row: readonly unknown[]): unknown {
  if (row.length === 1) return joinKey(row[0]);
  let key = '';
  for (let i = 0; i < row.length; i++) key += partText(row[i]);
  return key;
}

/**
 * A set of rows by value. Rows of 2 or 3 columns (the common case: rule tables, find results)
 * are keyed by one number: each column's values are numbered as they come (an interner per
 * column) and the numbers combined in mixed radix, so the set holds numbers, not nested maps or
 * strings. When a column has more distinct values than the radix allows, the set switches to
 * composite string keys, re-keying what it holds.
 */
export class RowSet {
  private numbers: NumberSet | null = new NumberSet();
  private strings: Set<unknown> | null = null;
  private interners: Interner[] = [];
  private values: unknown[][] = [];
  private radix = 0;
  size = 0;

  /** Adds the row; false when an equal row is already in the set. */
  add(row: readonly unknown[]): boolean {
    const n = row.length;
    if (this.numbers !== null && (n === 2 || n === 3)) {
      let key = this.numberKey(row);
      if (key === -1 && this.widen()) key = this.numberKey(row);
      if (key !== -1) {
        if (!this.numbers!.add(key)) return false;
        this.size++;
        return true;
      }
      this.switchToStrings();
    }
    if (this.strings === null) this.strings = new Set();
    const key = wholeRowKey(row);
    if (this.strings.has(key)) return false;
    this.strings.add(key);
    this.size++;
    return true;
  }

  /** The row's number key, or -1 when a column outgrows the radix. */
  private numberKey(row: readonly unknown[]): number {
    const n = row.length;
    if (this.radix === 0) {
      // Small radixes keep keys within small integers (fast to hash); widen() grows them.
      this.radix = n === 2 ? 2 ** 15 : 2 ** 10;
      this.interners = Array.from({ length: n }, () => new Interner());
      this.values = Array.from({ length: n }, () => []);
    }
    if (this.interners.length !== n) return -1;
    let key = 0;
    for (let i = 0; i < n; i++) {
      const value = row[i];
      const id = this.interners[i]!.idOf(value, this.radix);
      if (id === -1) return -1;
      if (id === this.values[i]!.length) this.values[i]!.push(value);
      key = key * this.radix + id;
    }
    return key;
  }

  /** The ids of the columns of a number key. */
  private decode(key: number): number[] {
    const n = this.interners.length;
    const ids = new Array<number>(n);
    let rest = key;
    for (let i = n - 1; i >= 0; i--) {
      ids[i] = rest % this.radix;
      rest = Math.floor(rest / this.radix);
    }
    return ids;
  }

  /** Re-keys with the largest radix that keeps keys exact; false when already there. */
  private widen(): boolean {
    const n = this.interners.length;
    const widest = n === 2 ? 2 ** 26 : 2 ** 17;
    if (this.radix >= widest || this.numbers === null) return false;
    const numbers = new NumberSet();
    for (const key of this.numbers.values()) numbers.add(this.decode(key).reduce((k, id) => k * widest + id, 0));
    this.radix = widest;
    this.numbers = numbers;
    return true;
  }

  private switchToStrings(): void {
    const strings = new Set<unknown>();
    for (const key of this.numbers?.values() ?? []) strings.add(wholeRowKey(this.decode(key).map((id, i) => this.values[i]![id])));
    this.numbers = null;
    this.strings = strings;
  }
}

/**
 * Numbers the values of one column as they come (equal by `joinKey`): integers (entity ids) in a
 * typed hash table, other values in a Map.
 */
class Interner {
  private readonly integers = new NumberMap();
  private readonly others = new Map<unknown, number>();

  /** The value's id (a new one when first seen), or -1 when a new id would reach `limit`. */
  idOf(value: unknown, limit: number): number {
    if (isTableKey(value)) {
      const id = this.integers.get(value);
      if (id !== -1) return id;
      const next = this.integers.size + this.others.size;
      if (next >= limit) return -1;
      this.integers.setNew(value, next);
      return next;
    }
    const k = joinKey(value);
    // A bigint equal to a safe integer keys as that number: look it up with the integers.
    if (isTableKey(k)) return this.idOf(k, limit);
    const id = this.others.get(k);
    if (id !== undefined) return id;
    const next = this.integers.size + this.others.size;
    if (next >= limit) return -1;
    this.others.set(k, next);
    return next;
  }
}

export function distinctRows(rows: readonly unknown[][]): unknown[][] {
  const seen = new RowSet();
  const out: unknown[][] = [];
  for (const row of rows) if (seen.add(row)) out.push(row);
  return out;
}

/** Positions of `names` in `columns` (-1 when absent). */
export function positionsOf(columns: readonly string[], names: readonly string[]): number[] {
  return names.map((n) => columns.indexOf(n));
}

/** The relation restricted to `names` (which must all be columns), optionally without duplicates. */
export function project(relation: Relation, names: readonly string[], distinct: boolean): Relation {
  // Every column, in order, of a distinct relation: the relation itself (rows are never changed).
  if (relation.distinct === true && names.length === relation.columns.length && names.every((n, i) => relation.columns[i] === n)) return relation;
  const positions = positionsOf(relation.columns, names);
  if (distinct && names.length === 1 && relation.sortedBy === names[0]) {
    // One column in ascending order: equal values are adjacent.
    const rows: unknown[][] = [];
    const p = positions[0]!;
    for (let i = 0; i < relation.rows.length; i++) {
      const value = relation.rows[i]![p];
      if (rows.length === 0 || rows[rows.length - 1]![0] !== value) rows.push([value]);
    }
    return { columns: names, rows, distinct: true, sortedBy: names[0] };
  }
  const rows = relation.rows.map((row) => positions.map((p) => row[p]));
  // Removing duplicates keeps the order, so a sorted column stays sorted.
  const sortedBy = relation.sortedBy !== undefined && names.includes(relation.sortedBy) ? relation.sortedBy : undefined;
  return { columns: names, rows: distinct ? distinctRows(rows) : rows, distinct, sortedBy };
}

/** Natural join on the shared columns; a product when there are none. */
export function join(left: Relation, right: Relation, tick: () => void = noop): Relation {
  if (left.columns.length === 0 && left.rows.length === 1) return right;
  if (right.columns.length === 0 && right.rows.length === 1) return left;
  const shared = left.columns.filter((c) => right.columns.includes(c));
  const extra = right.columns.filter((c) => !left.columns.includes(c));
  const extraPositions = positionsOf(right.columns, extra);
  const columns = [...left.columns, ...extra];
  const rows: unknown[][] = [];
  const distinct = left.distinct === true && right.distinct === true;
  if (left.rows.length === 0 || right.rows.length === 0) return { columns, rows, distinct: true };
  const leftKey = positionsOf(left.columns, shared);
  const rightKey = positionsOf(right.columns, shared);
  const emit = (l: readonly unknown[], r: readonly unknown[]): void => {
    const row = l.slice();
    for (let i = 0; i < extraPositions.length; i++) row.push(r[extraPositions[i]!]);
    rows.push(row);
  };
  if (shared.length === 1 && left.sortedBy === shared[0] && right.sortedBy === shared[0]) {
    mergeJoin(left.rows, leftKey[0]!, right.rows, rightKey[0]!, emit, tick);
    return { columns, rows, distinct, sortedBy: shared[0] };
  }
  if (shared.length === 0) {
    for (const l of left.rows) {
      tick();
      for (const r of right.rows) emit(l, r);
    }
    return { columns, rows, distinct };
  }
  if (right.rows.length <= left.rows.length) {
    const table = groupedRows(right.rows, rightKey);
    for (const l of left.rows) {
      tick();
      const matches = table.get(rowKey(l, leftKey));
      if (matches !== undefined) for (const r of matches) emit(l, r);
    }
  } else {
    const table = groupedRows(left.rows, leftKey);
    for (const r of right.rows) {
      tick();
      const matches = table.get(rowKey(r, rightKey));
      if (matches !== undefined) for (const l of matches) emit(l, r);
    }
  }
  return { columns, rows, distinct };
}

/**
 * Joins two relations sorted by their join column (numbers, ascending) in one pass: the scans of
 * AEVT and AVET both come in entity order, so joining them on ?e needs no hash table.
 */
function mergeJoin(
  left: readonly unknown[][], l: number, right: readonly unknown[][], r: number,
  emit: (a: readonly unknown[], b: readonly unknown[]) => void, tick: () => void,
): void {
  let i = 0;
  let j = 0;
  while (i < left.length && j < right.length) {
    tick();
    const a = left[i]![l] as number;
    const b = right[j]![r] as number;
    if (a < b) i++;
    else if (a > b) j++;
    else {
      let iEnd = i + 1;
      while (iEnd < left.length && left[iEnd]![l] === a) iEnd++;
      let jEnd = j + 1;
      while (jEnd < right.length && right[jEnd]![r] === a) jEnd++;
      for (let x = i; x < iEnd; x++) for (let y = j; y < jEnd; y++) emit(left[x]!, right[y]!);
      i = iEnd;
      j = jEnd;
    }
  }
}

/** Rows of `left` with no match in `right` on the shared columns. */
export function antiJoin(left: Relation, right: Relation): Relation {
  const shared = left.columns.filter((c) => right.columns.includes(c));
  if (shared.length === 0) return right.rows.length === 0 ? left : { columns: left.columns, rows: [] };
  const rightKey = positionsOf(right.columns, shared);
  const leftKey = positionsOf(left.columns, shared);
  const keys = new Set<unknown>();
  for (const r of right.rows) keys.add(rowKey(r, rightKey));
  return { columns: left.columns, rows: left.rows.filter((l) => !keys.has(rowKey(l, leftKey))), distinct: left.distinct, sortedBy: left.sortedBy };
}

const sharedRows = new WeakSet<readonly unknown[][]>();
const sharedGroups = new WeakMap<readonly unknown[][], Map<string, Map<unknown, unknown[][]>>>();

/** Marks rows that are read many times (a cached scan): their groupings are kept with them. */
export function shareRows(rows: readonly unknown[][]): void {
  sharedRows.add(rows);
}

/** `groupRows`, kept for shared rows (which are never changed) and reused. */
function groupedRows(rows: readonly unknown[][], positions: readonly number[]): Map<unknown, unknown[][]> {
  if (!sharedRows.has(rows)) return groupRows(rows, positions);
  let byPositions = sharedGroups.get(rows);
  if (byPositions === undefined) sharedGroups.set(rows, (byPositions = new Map()));
  const name = positions.join(',');
  let table = byPositions.get(name);
  if (table === undefined) byPositions.set(name, (table = groupRows(rows, positions)));
  return table;
}

/** Rows grouped by their key at `positions`. */
export function groupRows(rows: readonly unknown[][], positions: readonly number[]): Map<unknown, unknown[][]> {
  const table = new Map<unknown, unknown[][]>();
  for (const row of rows) {
    const key = rowKey(row, positions);
    const group = table.get(key);
    if (group === undefined) table.set(key, [row]);
    else group.push(row);
  }
  return table;
}

/** Union of relations over the same set of columns (in any order), without duplicates. */
export function union(columns: readonly string[], parts: readonly Relation[]): Relation {
  const rows: unknown[][] = [];
  for (const part of parts) {
    const positions = positionsOf(part.columns, columns);
    for (const row of part.rows) rows.push(positions.map((p) => row[p]));
  }
  return { columns, rows: distinctRows(rows), distinct: true };
}

function noop(): void {}
