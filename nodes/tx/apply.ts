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
import { RowDatom } from '../db/datom-table.ts';
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
  const current = updateTrees(state.current, orders.current, removed, removedRefs, added, addedRefs);
  const history = historyRows.length === 0 ? state.history : updateTrees(state.history, orders.history, none, none, historyRows, historyRefs);
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
function updateTrees(trees: Trees, order: Readonly<Record<IndexName, Compare>>, remove: number[], removeRefs: number[], insert: number[], insertRefs: number[]): Trees {
  return {
    eavt: updateTree(trees.eavt, order.eavt, remove, insert),
    aevt: updateTree(trees.aevt, order.aevt, remove, insert),
    avet: updateTree(trees.avet, order.avet, remove, insert),
    vaet: updateTree(trees.vaet, order.vaet, removeRefs, insertRefs),
  };
}

function updateTree(root: Node, cmp: Compare, remove: number[], insert: number[]): Node {
  if (remove.length > 0) root = removeSorted(root, sortedRows(remove, cmp), cmp);
  if (insert.length > 0) root = insertSorted(root, sortedRows(insert, cmp), cmp);
  return root;
}

/** Sorts in place (the same rows are sorted again for the next index). */
function sortedRows(rows: number[], cmp: Compare): number[] {
  if (rows.length === 2) {
    if (cmp(rows[0]!, rows[1]!) > 0) rows.reverse();
  } else if (rows.length > 2) {
    rows.sort(cmp);
  }
  return rows;
}
