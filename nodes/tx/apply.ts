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
import type { DatomTable } from '../db/datom-table.ts';
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
  const rows = new TransactionRows(state, t);
  // forEach with the rows as `this`: no closure per transaction, and not for-of (see tempids.ts).
  retractions.forEach(retractFact, rows);
  assertions.forEach(assertFact, rows);
  return rows.applied(schema, next, txInstantMs);
}

function retractFact(this: TransactionRows, fact: Fact & { row: number }): void {
  this.retract(fact.e, fact.attribute, fact.v, fact.row);
}

function assertFact(this: TransactionRows, fact: Fact): void {
  this.assert(fact.e, fact.attribute, fact.v);
}

/**
 * One transaction's rows, appended to the table as they come, and the rows each tree takes.
 * Replay feeds it the logged datoms directly; `applyTransaction` feeds it checked facts.
 * The lists of a kind of change a transaction does not make are never allocated.
 */
export class TransactionRows {
  private readonly table: DatomTable;
  private added: number[] = none;
  private addedRefs: number[] = none;
  private removed: number[] = none;
  private removedRefs: number[] = none;
  private historyRows: number[] = none;
  private historyRefs: number[] = none;
  /** Whether the history rows are all (assertion row, its retraction row) pairs. */
  private historyPaired = true;
  private hiddenRows: number[] = none;
  private hiddenRefs: number[] = none;

  constructor(
    private readonly state: DbState,
    private readonly t: number,
  ) {
    this.table = state.table.forAppendAt(state.tableLength);
  }

  assert(e: number, attribute: Attribute, v: unknown): void {
    const row = this.table.append(e, attribute.id, v, this.t, true);
    if (this.added === none) this.added = [row];
    else this.added.push(row);
    if (attribute.valueType === 'ref') (this.addedRefs === none ? (this.addedRefs = []) : this.addedRefs).push(row);
  }

  /** Retracts a current fact: `row` is its assertion row, or -1 for a fact of the durable base. */
  retract(e: number, attribute: Attribute, v: unknown, assertedRow: number): void {
    const row = this.table.append(e, attribute.id, v, this.t, false);
    const isRef = attribute.valueType === 'ref';
    if (this.historyRows === none) {
      this.historyRows = [];
      this.historyRefs = [];
      this.removed = [];
      this.removedRefs = [];
    }
    if (assertedRow === -1) {
      if (this.hiddenRows === none) {
        this.hiddenRows = [];
        this.hiddenRefs = [];
      }
      this.hiddenRows.push(row);
      if (isRef) this.hiddenRefs.push(row);
      if (!attribute.noHistory) {
        this.historyRows.push(row);
        if (isRef) this.historyRefs.push(row);
        this.historyPaired = false;
      }
      return;
    }
    this.removed.push(assertedRow);
    if (isRef) this.removedRefs.push(assertedRow);
    if (!attribute.noHistory) {
      this.historyRows.push(assertedRow, row);
      if (isRef) this.historyRefs.push(assertedRow, row);
    }
  }

  /** The state after the transaction. */
  applied(schema: Schema, next: { readonly userN: number; readonly dbN: number }, txInstantMs: number): Applied {
    const { state, table } = this;
    const orders = table === state.table ? state.orders : ordersFor(table);
    const current = DeferredTrees.after(state.current, table, orders.current, false, this.removed, this.removedRefs, this.added, this.addedRefs, false);
    const history = DeferredTrees.after(state.history, table, orders.history, true, none, none, this.historyRows, this.historyRefs, this.historyPaired);
    return {
      from: state.tableLength,
      to: table.length,
      state: {
        table,
        tableLength: table.length,
        orders,
        basisT: this.t,
        current,
        history,
        schema,
        nextUserN: next.userN,
        nextDbN: next.dbN,
        lastTxInstantMs: txInstantMs,
        base: state.base,
        hidden: this.hiddenRows.length === 0 ? state.hidden : hideRows(state.hidden, this.hiddenRows, this.hiddenRefs, orders),
      },
    };
  }
}

/** The empty list of rows, shared: never pushed to. */
const none: number[] = [];

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
