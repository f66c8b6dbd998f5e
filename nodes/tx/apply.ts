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
import { insertSorted, removeSorted, type Compare } from '../btree/int-tree.ts';
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

const indexes: readonly IndexName[] = ['eavt', 'aevt', 'avet', 'vaet'];

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
  const added: number[] = [];
  const addedRefs: number[] = [];
  const removed: number[] = [];
  const removedRefs: number[] = [];
  const historyRows: number[] = [];
  const historyRefs: number[] = [];
  const datoms: Datom[] = [];
  for (const fact of retractions) {
    const row = table.append(fact.e, fact.attribute.id, fact.v, t, false);
    datoms.push(table.datom(row));
    const isRef = fact.attribute.valueType === 'ref';
    removed.push(fact.row);
    if (isRef) removedRefs.push(fact.row);
    if (!fact.attribute.noHistory) {
      historyRows.push(fact.row, row);
      if (isRef) historyRefs.push(fact.row, row);
    }
  }
  for (const fact of assertions) {
    const row = table.append(fact.e, fact.attribute.id, fact.v, t, true);
    datoms.push(table.datom(row));
    added.push(row);
    if (fact.attribute.valueType === 'ref') addedRefs.push(row);
  }
  const update = (trees: Trees, order: Readonly<Record<IndexName, Compare>>, remove: [number[], number[]], insert: [number[], number[]]): Trees => {
    const next = {} as Record<IndexName, (typeof trees)[IndexName]>;
    for (const index of indexes) {
      const cmp = order[index];
      const [removeRows, insertRows] = index === 'vaet' ? [remove[1], insert[1]] : [remove[0], insert[0]];
      let root = trees[index];
      if (removeRows.length > 0) root = removeSorted(root, sortedRows(removeRows, cmp), cmp);
      if (insertRows.length > 0) root = insertSorted(root, sortedRows(insertRows, cmp), cmp);
      next[index] = root;
    }
    return next;
  };
  const current = update(state.current, orders.current, [removed, removedRefs], [added, addedRefs]);
  const history = historyRows.length === 0 ? state.history : update(state.history, orders.history, [[], []], [historyRows, historyRefs]);
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

function sortedRows(rows: number[], cmp: Compare): number[] {
  if (rows.length > 1) rows.sort(cmp);
  return rows;
}
