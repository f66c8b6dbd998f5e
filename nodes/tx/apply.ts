//! Applies a checked transaction to a db state: appends its rows and updates the trees.
//!
//! An assertion appends one row and enters the current trees (VAET only for refs). A retraction
//! appends a retraction row and moves the fact's assertion row out of the current trees; unless
//! the attribute is `:db/noHistory`, both rows enter the history trees. Each tree takes the
//! transaction's rows as one sorted batch.
//!
//! History trees are brought up to date on first read, not per transaction: a state keeps the
//! newest history trees it knows (`base`) and the history rows of the transactions since
//! (`pending`, newest first), and the first read of `history` inserts them all as one batch.
//! Transactions never read history, so a run of them costs no history updates at all; a reader
//! pays one batch insert per run, which is far cheaper per row than one per transaction.
//!
//!   base trees ◄── pending [rows of t 7] → [rows of t 6] → [rows of t 5] → null
import type { Datom, IndexName } from '../datom/datom.ts';
import type { Attribute } from '../db/database.ts';
import type { DbState, Trees } from '../db/db.ts';
import { ordersFor } from '../db/index-order.ts';
import { insertSorted, removeSorted, type Compare, type Node } from '../btree/int-tree.ts';
import { RowDatom, type DatomTable } from '../db/datom-table.ts';
import { txOfT } from '../datom/datom.ts';
import type { Schema } from '../schema/schema.ts';

export interface Fact {
  readonly e: number;
  readonly attribute: Attribute;
  readonly v: unknown;
}

export interface Applied {
  readonly state: DbState;
  readonly datoms: Datom[];
}

export function applyTransaction(
  state: DbState,
  t: number,
  assertions: readonly Fact[],
  retractions: ReadonlyArray<Fact & { row: number }>,
  schema: Schema,
  next: { readonly userN: number; readonly dbN: number },
  txInstantMs: number,
): Applied {
  const table = state.table.forAppendAt(state.tableLength);
  const orders = table === state.table ? state.orders : ordersFor(table);
  const tx = txOfT(t);
  const added: number[] = [];
  const addedRefs: number[] = [];
  const removed: number[] = [];
  const removedRefs: number[] = [];
  const historyRows: number[] = [];
  const historyRefs: number[] = [];
  const datoms: Datom[] = [];
  for (const fact of retractions) {
    const { e, attribute, v } = fact;
    const row = table.append(e, attribute.id, v, t, false);
    datoms.push(new RowDatom(e, attribute.id, v, tx, false));
    const isRef = attribute.valueType === 'ref';
    removed.push(fact.row);
    if (isRef) removedRefs.push(fact.row);
    if (!attribute.noHistory) {
      historyRows.push(fact.row, row);
      if (isRef) historyRefs.push(fact.row, row);
    }
  }
  for (const { e, attribute, v } of assertions) {
    const row = table.append(e, attribute.id, v, t, true);
    datoms.push(new RowDatom(e, attribute.id, v, tx, true));
    added.push(row);
    if (attribute.valueType === 'ref') addedRefs.push(row);
  }
  const current = updateTrees(table, state.current, orders.current, removed, removedRefs, added, addedRefs);
  const before = historyOf(state);
  const pending = historyRows.length === 0 ? before.pending : { rows: historyRows, refs: historyRefs, previous: before.pending };
  const fields = { table, orders, basisT: t, current, schema, nextUserN: next.userN, nextDbN: next.dbN, lastTxInstantMs: txInstantMs };
  return { state: new AppliedState(fields, before.base, pending), datoms };
}

/** History rows of transactions not yet in the history trees, newest first. */
interface PendingHistory {
  readonly rows: readonly number[];
  readonly refs: readonly number[];
  readonly previous: PendingHistory | null;
}

type StateFields = Omit<DbState, 'history' | 'tableLength'>;

/** A db state made by a transaction; its history trees are built on first read (see header). */
class AppliedState implements DbState {
  readonly table: DatomTable;
  readonly tableLength: number;
  readonly orders: DbState['orders'];
  readonly basisT: number;
  readonly current: Trees;
  readonly schema: Schema;
  readonly nextUserN: number;
  readonly nextDbN: number;
  readonly lastTxInstantMs: number;
  base: Trees;
  pending: PendingHistory | null;

  constructor(fields: StateFields, base: Trees, pending: PendingHistory | null) {
    this.table = fields.table;
    this.tableLength = fields.table.length;
    this.orders = fields.orders;
    this.basisT = fields.basisT;
    this.current = fields.current;
    this.schema = fields.schema;
    this.nextUserN = fields.nextUserN;
    this.nextDbN = fields.nextDbN;
    this.lastTxInstantMs = fields.lastTxInstantMs;
    this.base = base;
    this.pending = pending;
  }

  get history(): Trees {
    if (this.pending !== null) {
      const rows: number[] = [];
      const refs: number[] = [];
      for (let batch: PendingHistory | null = this.pending; batch !== null; batch = batch.previous) {
        for (const row of batch.rows) rows.push(row);
        for (const row of batch.refs) refs.push(row);
      }
      // Every pending row is in this state's table (a fork keeps the rows before it).
      this.base = updateTrees(this.table, this.base, this.orders.history, none, none, rows, refs);
      this.pending = null;
    }
    return this.base;
  }
}

/** The history trees a state knows and the rows still to go into them, without building them. */
function historyOf(state: DbState): { base: Trees; pending: PendingHistory | null } {
  if (state instanceof AppliedState) return { base: state.base, pending: state.pending };
  return { base: state.history, pending: null };
}

const none: number[] = [];

/** Each tree takes its rows as one sorted batch; VAET only the rows of ref attributes. */
/**
 * Each tree takes its rows as one sorted batch; VAET only the rows of ref attributes. The rows
 * are sorted in place, EAVT first: rows come in fact order (mostly by entity), so EAVT's sort
 * meets long sorted runs, and grouping by attribute (stable) turns EAVT order into AEVT order.
 */
function updateTrees(table: DatomTable, trees: Trees, order: Readonly<Record<IndexName, Compare>>, remove: number[], removeRefs: number[], insert: number[], insertRefs: number[]): Trees {
  const eavt = updateTree(null, trees.eavt, order.eavt, remove, insert);
  const aevt = updateTree(table, trees.aevt, order.aevt, remove, insert);
  const avet = updateTree(table, trees.avet, order.avet, remove, insert);
  const vaet = updateTree(null, trees.vaet, order.vaet, removeRefs, insertRefs);
  return { eavt, aevt, avet, vaet };
}

/** `byAttribute`: the table, when the index leads with the attribute (rows get grouped by it first). */
function updateTree(byAttribute: DatomTable | null, root: Node, cmp: Compare, remove: number[], insert: number[]): Node {
  if (remove.length > 0) root = removeSorted(root, sortedRows(remove, cmp, byAttribute), cmp);
  if (insert.length > 0) root = insertSorted(root, sortedRows(insert, cmp, byAttribute), cmp);
  return root;
}

const GROUPING_ROWS_MIN = 64;
const ATTRIBUTE_RANGE_MAX = 1 << 16;

/** Sorts in place (the same rows are sorted again for the next index). */
function sortedRows(rows: number[], cmp: Compare, byAttribute: DatomTable | null): number[] {
  if (rows.length === 2) {
    if (cmp(rows[0]!, rows[1]!) > 0) rows.reverse();
  } else if (rows.length > 2) {
    if (byAttribute !== null && rows.length >= GROUPING_ROWS_MIN) groupByAttribute(rows, byAttribute);
    rows.sort(cmp);
  }
  return rows;
}

/** A stable counting sort of rows by attribute id (ids are small), so the comparison sort after it meets sorted runs. */
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
