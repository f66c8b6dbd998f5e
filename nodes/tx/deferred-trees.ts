//! The four index trees of a db state, brought up to date when read rather than per transaction.
//!
//! A transaction hands its rows over (inserted, removed) and reads only the trees it needs (EAVT
//! for card-one and redundancy checks, AVET for unique values, VAET for retractEntity); the
//! others, AEVT and most history trees in particular, keep a chain of pending batches. The first
//! read of a tree applies its whole chain as one sorted batch, which costs far less per row than
//! one path copy per transaction, and caches the result.
//!
//!   root of the newest tree built ◄── pending [rows of t 7] → [rows of t 6] → [rows of t 5] → null
//!
//! Each state owns its chain head; chains share their tails, and applying one never changes a
//! batch, so every db value sees exactly its own transactions. Rows are unique: a row is inserted
//! once and removed at most once, after it was inserted.
import type { IndexName } from '../datom/datom.ts';
import type { Trees } from '../db/db.ts';
import type { DatomTable } from '../db/datom-table.ts';
import { insertSorted, removeSorted, type Compare, type Node } from '../btree/int-tree.ts';

interface Pending {
  readonly insert: readonly number[];
  readonly remove: readonly number[];
  readonly previous: Pending | null;
}

const indexes: readonly IndexName[] = ['eavt', 'aevt', 'avet', 'vaet'];
const VAET = 3;

export class DeferredTrees implements Trees {
  private constructor(
    private readonly table: DatomTable,
    private readonly orders: Readonly<Record<IndexName, Compare>>,
    private readonly roots: Node[],
    private readonly pending: Array<Pending | null>,
  ) {}

  /** The trees after one transaction's rows (VAET takes the rows of ref attributes only). */
  static after(
    trees: Trees,
    table: DatomTable,
    orders: Readonly<Record<IndexName, Compare>>,
    remove: readonly number[],
    removeRefs: readonly number[],
    insert: readonly number[],
    insertRefs: readonly number[],
  ): Trees {
    const roots = new Array<Node>(4);
    const pending = new Array<Pending | null>(4);
    for (let i = 0; i < 4; i++) {
      const inserted = i === VAET ? insertRefs : insert;
      const removed = i === VAET ? removeRefs : remove;
      const chain = trees instanceof DeferredTrees ? trees.pending[i]! : null;
      roots[i] = trees instanceof DeferredTrees ? trees.roots[i]! : trees[indexes[i]!];
      pending[i] = inserted.length === 0 && removed.length === 0 ? chain : { insert: inserted, remove: removed, previous: chain };
    }
    return new DeferredTrees(table, orders, roots, pending);
  }

  get eavt(): Node {
    return this.tree(0);
  }
  get aevt(): Node {
    return this.tree(1);
  }
  get avet(): Node {
    return this.tree(2);
  }
  get vaet(): Node {
    return this.tree(3);
  }

  private tree(i: number): Node {
    const chain = this.pending[i]!;
    if (chain !== null) {
      const index = indexes[i]!;
      this.roots[i] = applyPending(this.roots[i]!, chain, this.orders[index], this.table, index);
      this.pending[i] = null;
    }
    return this.roots[i]!;
  }
}

/** Applies a chain of batches, oldest first in effect: a row both inserted and removed never enters. */
function applyPending(root: Node, chain: Pending, cmp: Compare, table: DatomTable, index: IndexName): Node {
  let removed: number[];
  let inserted: number[];
  if (chain.previous === null) {
    // One transaction: what it removes was in the tree before it.
    removed = chain.remove.slice();
    inserted = chain.insert.slice();
  } else {
    const batches: Pending[] = [];
    for (let batch: Pending | null = chain; batch !== null; batch = batch.previous) batches.push(batch);
    const added = new Set<number>();
    removed = [];
    for (let k = batches.length - 1; k >= 0; k--) {
      for (const row of batches[k]!.insert) added.add(row);
      for (const row of batches[k]!.remove) if (!added.delete(row)) removed.push(row);
    }
    inserted = [...added];
  }
  if (removed.length > 0) root = removeSorted(root, sortedRows(removed, cmp, table, index), cmp);
  if (inserted.length > 0) root = insertSorted(root, sortedRows(inserted, cmp, table, index), cmp);
  return root;
}

const GROUPING_ROWS_MIN = 64;
const RADIX_ROWS_MIN = 512;
const ATTRIBUTE_RANGE_MAX = 1 << 16;

/** What a large batch can be pre-sorted by before the comparator settles ties. */
type Lead = 'e' | 'a' | 'ae' | 'v';

const leads: Record<IndexName, Lead> = { eavt: 'e', aevt: 'ae', avet: 'a', vaet: 'v' };

/**
 * Sorts in place. Large batches are first ordered by their leading numeric components with
 * stable radix and counting passes (entity ids, ref values, attribute ids are integers), so the
 * comparator only settles rows that tie on those (AVET: rows of one attribute, by value).
 */
function sortedRows(rows: number[], cmp: Compare, table: DatomTable, index: IndexName): number[] {
  if (rows.length === 2) {
    if (cmp(rows[0]!, rows[1]!) > 0) rows.reverse();
    return rows;
  }
  if (rows.length <= 2) return rows;
  const lead = leads[index];
  if (rows.length >= RADIX_ROWS_MIN && lead !== 'a') {
    const numeric = lead === 'v' ? rows.every((row) => isEntityId(table.v(row))) : true;
    if (numeric) {
      radixByInteger(rows, lead === 'v' ? (row) => table.v(row) as number : (row) => table.e(row));
      if (lead === 'ae') groupByAttribute(rows, table);
      sortTies(rows, cmp, lead === 'v' ? (x, y) => table.v(x) === table.v(y) : lead === 'e' ? (x, y) => table.e(x) === table.e(y) : (x, y) => table.e(x) === table.e(y) && table.a(x) === table.a(y));
      return rows;
    }
  }
  if (lead !== 'e' && lead !== 'v' && rows.length >= GROUPING_ROWS_MIN) groupByAttribute(rows, table);
  rows.sort(cmp);
  return rows;
}

function isEntityId(v: unknown): boolean {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

/** Sorts each run of rows that `tie` says share their leading components. */
function sortTies(rows: number[], cmp: Compare, tie: (x: number, y: number) => boolean): void {
  let start = 0;
  for (let i = 1; i <= rows.length; i++) {
    if (i < rows.length && tie(rows[start]!, rows[i]!)) continue;
    if (i - start > 1) {
      const run = rows.slice(start, i).sort(cmp);
      for (let k = 0; k < run.length; k++) rows[start + k] = run[k]!;
    }
    start = i;
  }
}

/** A stable LSD radix sort of rows by a non-negative safe integer, 16 bits a pass (passes all keys share are skipped). */
function radixByInteger(rows: number[], keyOf: (row: number) => number): void {
  const n = rows.length;
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) keys[i] = keyOf(rows[i]!);
  let source = Uint32Array.from(rows);
  let target = new Uint32Array(n);
  let sourceKeys = keys;
  let targetKeys = new Float64Array(n);
  const counts = new Int32Array(65537);
  for (let shift = 0; shift < 64; shift += 16) {
    const divisor = 2 ** shift;
    const digit = (key: number) => Math.floor(key / divisor) % 65536;
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[digit(sourceKeys[i]!) + 1]!++;
    if (counts.some((c) => c === n)) continue; // every key has this digit
    for (let d = 1; d < counts.length; d++) counts[d]! += counts[d - 1]!;
    for (let i = 0; i < n; i++) {
      const at = counts[digit(sourceKeys[i]!)]!++;
      target[at] = source[i]!;
      targetKeys[at] = sourceKeys[i]!;
    }
    [source, target] = [target, source];
    [sourceKeys, targetKeys] = [targetKeys, sourceKeys];
  }
  for (let i = 0; i < n; i++) rows[i] = source[i]!;
}

/**
 * A stable counting sort of rows by attribute id (ids are small). Rows mostly come in entity
 * order, so after grouping the comparison sort meets long sorted runs.
 */
function groupByAttribute(rows: number[], table: DatomTable): void {
  let min = Infinity;
  let max = -Infinity;
  const attributes = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const a = table.a(rows[i]!);
    attributes[i] = a;
    if (a < min) min = a;
    if (a > max) max = a;
  }
  if (max - min >= ATTRIBUTE_RANGE_MAX) return;
  const starts = new Int32Array(max - min + 2);
  for (let i = 0; i < rows.length; i++) starts[attributes[i]! - min + 1]!++;
  for (let k = 1; k < starts.length; k++) starts[k]! += starts[k - 1]!;
  const grouped = rows.slice();
  for (let i = 0; i < rows.length; i++) rows[starts[attributes[i]! - min]!++] = grouped[i]!;
}
