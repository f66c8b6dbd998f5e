//! Applies a checked transaction to a db state: appends its rows and hands them to the trees.
//!
//! An assertion appends one row and enters the current trees (VAET only for refs). A retraction
//! appends a retraction row and moves the fact's assertion row out of the current trees; unless
//! the attribute is `:db/noHistory`, both rows enter the history trees. The trees take the rows
//! as one batch each, applied when the tree is next read (deferred-trees.ts).
//!
//! On a durable base (merged.ts), retracting a fact of the base (its `row` is -1: it has no row
//! here) appends the retraction row only; it enters the history trees (unless :db/noHistory) and
//! `hidden`, which hides the base's assertion from current reads.
import type { IndexName } from '../datom/datom.ts';
import type { Attribute } from '../db/database.ts';
import type { DbState, Trees } from '../db/db.ts';
import { indexNames, ordersFor, type Orders } from '../db/index-order.ts';
import { DeferredTrees } from './deferred-trees.ts';
import { insertSorted, type Node } from '../btree/int-tree.ts';
import type { Schema } from '../schema/schema.ts';

export interface Fact {
  readonly e: number;
  readonly attribute: Attribute;
  readonly v: unknown;
}

export interface Applied {
  readonly state: DbState;
  /** The transaction's datoms are the table's rows [from, to): retractions first, then assertions. */
  readonly from: number;
  readonly to: number;
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
  const added: number[] = [];
  const addedRefs: number[] = [];
  const removed: number[] = [];
  const removedRefs: number[] = [];
  const historyRows: number[] = [];
  const historyRefs: number[] = [];
  const hiddenRows: number[] = [];
  const hiddenRefs: number[] = [];
  for (const fact of retractions) {
    const { e, attribute, v } = fact;
    const row = table.append(e, attribute.id, v, t, false);
    const isRef = attribute.valueType === 'ref';
    if (fact.row === -1) {
      hiddenRows.push(row);
      if (isRef) hiddenRefs.push(row);
      if (!attribute.noHistory) {
        historyRows.push(row);
        if (isRef) historyRefs.push(row);
      }
      continue;
    }
    removed.push(fact.row);
    if (isRef) removedRefs.push(fact.row);
    if (!attribute.noHistory) {
      historyRows.push(fact.row, row);
      if (isRef) historyRefs.push(fact.row, row);
    }
  }
  for (const { e, attribute, v } of assertions) {
    const row = table.append(e, attribute.id, v, t, true);
    added.push(row);
    if (attribute.valueType === 'ref') addedRefs.push(row);
  }
  const current = DeferredTrees.after(state.current, table, orders.current, false, removed, removedRefs, added, addedRefs);
  const history = DeferredTrees.after(state.history, table, orders.history, true, none, none, historyRows, historyRefs);
  const from = state.tableLength;
  return {
    from,
    to: table.length,
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
      base: state.base,
      hidden: hiddenRows.length === 0 ? state.hidden : hideRows(state.hidden, hiddenRows, hiddenRefs, orders),
    },
  };
}

const none: readonly number[] = [];

/** The hidden trees with more retraction rows of base facts (VAET: those of ref attributes). */
function hideRows(hidden: Trees, rows: number[], refs: number[], orders: Orders): Trees {
  const out = {} as Record<IndexName, Node>;
  for (const index of indexNames) {
    const add = index === 'vaet' ? refs : rows;
    const order = orders.current[index];
    out[index] = add.length === 0 ? hidden[index] : insertSorted(hidden[index], add.slice().sort(order), order);
  }
  return out;
}
