//! Applies a checked transaction to a db state: appends its rows and updates the trees.
//!
//! An assertion appends one row and enters the current trees (VAET only for refs). A retraction
//! appends a retraction row and moves the fact's assertion row out of the current trees; unless
//! the attribute is `:db/noHistory`, both rows enter the history trees. Each tree takes the
//! transaction's rows as one sorted batch.
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
  const history = historyRows.length === 0 ? state.history : updateTrees(table, state.history, orders.history, none, none, historyRows, historyRefs);
  return {
    state: {
      table,
      tableLength: table.length,
      orders,
      basisT: t,
      current,
      history,
      schema,
      nextUserN: next.userN,
      nextDbN: next.dbN,
      lastTxInstantMs: txInstantMs,
    },
    datoms,
  };
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
