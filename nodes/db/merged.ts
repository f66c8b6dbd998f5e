//! Reads of a db state on a durable base: the base's trees and the novelty after them, merged.
//!
//!   current view   base current datoms, less those novelty retracted (`hidden`),
//!                  merged with novelty's current rows
//!   history views  base current (less hidden facts whose retraction skipped history: :db/noHistory
//!                  at the time), base history,
//!                  novelty current and novelty history, merged in history order (fact, then t)
//!
//! Why this is exact: the base holds every datom up to its t; novelty holds every datom after it,
//! except that retracting a base fact appends only the retraction row (the assertion stays in the
//! base), recorded in `hidden` so current reads drop the base assertion. A fact novelty
//! re-asserts after retracting it has a novelty assertion row of its own.
import type { Datom, IndexName } from '../datom/datom.ts';
import { tOfTx } from '../datom/datom.ts';
import { Cursor, rank, type Node } from '../btree/int-tree.ts';
import { compareValues } from '../values/compare.ts';
import { currentOrders, historyOrders } from '../indexer/datom-order.ts';
import { mergeSync } from '../indexer/levels.ts';
import { currentRows, type DbState } from './db.ts';
import type { DurableBase } from './durable-base.ts';
import { probeFor } from './index-order.ts';

export interface MergedView {
  readonly asOfT: number | null;
  readonly sinceT: number | null;
  readonly isHistory: boolean;
}

/** Novelty rows of one tree between two component bounds, as datoms. */
function* noveltyDatoms(state: DbState, tree: Node, index: IndexName, lower: readonly unknown[], upper: readonly unknown[], upperInclusive: boolean): Generator<Datom> {
  const { table } = state;
  const until = probeFor(table, index, upper, upperInclusive);
  const cursor = new Cursor(tree, probeFor(table, index, lower, false));
  for (let row = cursor.next(); row !== -1 && until(row) > 0; row = cursor.next()) yield table.datom(row);
}

/** True when novelty retracted base fact [e a v]. */
export function isHidden(state: DbState, e: number, a: number, v: unknown): boolean {
  const hidden = state.hidden.eavt;
  if (hidden.size === 0) return false;
  const { table } = state;
  const row = new Cursor(hidden, probeFor(table, 'eavt', [e, a, v], false)).peek();
  return row !== -1 && table.e(row) === e && table.a(row) === a && compareValues(table.v(row), v) === 0;
}

/**
 * True when novelty's history holds a retraction of fact [e a v] (at `t` when given): the
 * retraction went into history, :db/noHistory being off when it happened.
 */
export function inNoveltyHistory(state: DbState, e: number, a: number, v: unknown, t?: number): boolean {
  const tree = state.history.eavt;
  if (tree.size === 0) return false;
  const { table } = state;
  const cursor = new Cursor(tree, probeFor(table, 'eavt', t === undefined ? [e, a, v] : [e, a, v, t], false));
  for (let row = cursor.next(); row !== -1 && table.e(row) === e && table.a(row) === a && compareValues(table.v(row), v) === 0; row = cursor.next()) {
    if (t !== undefined && table.t(row) !== t) return false;
    if (!table.added(row)) return true;
  }
  return false;
}

function* visibleBase(state: DbState, base: DurableBase, index: IndexName, lower: readonly unknown[], upper: readonly unknown[], upperInclusive: boolean, keep: (d: Datom) => boolean): Generator<Datom> {
  for (const datom of base.datoms(index, 'current', lower, upper, upperInclusive)) if (keep(datom)) yield datom;
}

/** Datoms of a db state on a durable base between two component bounds, as `view` sees them. */
export function mergedScan(state: DbState, view: MergedView, index: IndexName, lower: readonly unknown[], upper: readonly unknown[], upperInclusive: boolean): Iterable<Datom> {
  // Just after a rebase, novelty is often empty: the base's datoms are the answer as they are.
  if (!view.isHistory && view.asOfT === null && view.sinceT === null && state.current[index].size === 0 && state.hidden.eavt.size === 0) {
    return state.base!.datoms(index, 'current', lower, upper, upperInclusive);
  }
  return scanMerged(state, view, index, lower, upper, upperInclusive);
}

function* scanMerged(state: DbState, view: MergedView, index: IndexName, lower: readonly unknown[], upper: readonly unknown[], upperInclusive: boolean): Generator<Datom> {
  const base = state.base!;
  const { asOfT, sinceT, isHistory } = view;
  if (!isHistory && asOfT === null) {
    const baseCurrent = visibleBase(state, base, index, lower, upper, upperInclusive, (d) => !isHidden(state, d.e, d.a, d.v));
    const novelty = noveltyDatoms(state, state.current[index], index, lower, upper, upperInclusive);
    for (const datom of mergeSync([baseCurrent, novelty], currentOrders[index])) {
      if (sinceT === null || toT(datom) > sinceT) yield datom;
    }
    return;
  }
  const sources = [
    // A base assertion novelty retracted stays in history views if its retraction went there.
    visibleBase(state, base, index, lower, upper, upperInclusive, (d) => !isHidden(state, d.e, d.a, d.v) || inNoveltyHistory(state, d.e, d.a, d.v)),
    base.datoms(index, 'history', lower, upper, upperInclusive)[Symbol.iterator](),
    noveltyDatoms(state, state.current[index], index, lower, upper, upperInclusive),
    noveltyDatoms(state, state.history[index], index, lower, upper, upperInclusive),
  ];
  const all = mergeSync(sources, historyOrders[index]);
  if (isHistory) {
    for (const datom of all) {
      const t = toT(datom);
      if ((asOfT === null || t <= asOfT) && (sinceT === null || t > sinceT)) yield datom;
    }
    return;
  }
  // asOf: a fact is visible if its last datom at or before asOfT is an assertion (rows of one
  // fact come together, in time order).
  const fact = currentOrders[index];
  let pending: Datom | null = null;
  for (const datom of all) {
    if (pending !== null && fact(pending, datom) !== 0) {
      yield pending;
      pending = null;
    }
    const t = toT(datom);
    if (t > asOfT!) continue;
    pending = datom.added && (sinceT === null || t > sinceT) ? datom : null;
  }
  if (pending !== null) yield pending;
}

/** The number of datoms `mergedScan` reads before filtering (exact for the current view). */
export function mergedCount(state: DbState, view: MergedView, index: IndexName, lower: readonly unknown[], upper: readonly unknown[], upperInclusive: boolean): number {
  const base = state.base!;
  const { table } = state;
  const ranked = (tree: Node): number => (tree.size === 0 ? 0 : rank(tree, probeFor(table, index, upper, upperInclusive)) - rank(tree, probeFor(table, index, lower, false)));
  let n = base.count(index, 'current', lower, upper, upperInclusive) + ranked(state.current[index]);
  if (view.asOfT !== null || view.isHistory) {
    n += base.count(index, 'history', lower, upper, upperInclusive) + ranked(state.history[index]);
    // Base assertions whose retraction skipped history (:db/noHistory) are not in these views.
    const hidden = state.hidden[index];
    if (hidden.size > 0) {
      const until = probeFor(table, index, upper, upperInclusive);
      const cursor = new Cursor(hidden, probeFor(table, index, lower, false));
      for (let row = cursor.next(); row !== -1 && until(row) > 0; row = cursor.next()) {
        if (!inNoveltyHistory(state, table.e(row), table.a(row), table.v(row))) n--;
      }
    }
  } else n -= ranked(state.hidden[index]);
  return Math.max(0, n);
}

function toT(datom: Datom): number {
  return tOfTx(datom.tx);
}

/** A current fact as the transaction layer needs it: its row in novelty, or -1 if it is in the base. */
export interface CurrentFact {
  readonly e: number;
  readonly a: number;
  readonly v: unknown;
  readonly row: number;
}

/** Current facts of a state whose leading components (resolved) are `components`, in index order. */
export function currentFacts(state: DbState, index: IndexName, components: readonly unknown[]): CurrentFact[] {
  const { table } = state;
  const out: CurrentFact[] = [];
  for (const row of currentRows(state, index, components)) out.push({ e: table.e(row), a: table.a(row), v: table.v(row), row });
  const base = state.base;
  if (base === null) return out;
  let fromBase = false;
  for (const d of base.datoms(index, 'current', components, components, true)) {
    if (isHidden(state, d.e, d.a, d.v)) continue;
    out.push({ e: d.e, a: d.a, v: d.v, row: -1 });
    fromBase = true;
  }
  if (fromBase) {
    const order = currentOrders[index];
    out.sort((x, y) => order(x as never, y as never));
  }
  return out;
}

/** The current fact [e a v] of a state, or null. */
export function currentFact(state: DbState, e: number, a: number, v: unknown): CurrentFact | null {
  const rows = currentRows(state, 'eavt', [e, a, v]);
  if (rows.length > 0) return { e, a, v: state.table.v(rows[0]!), row: rows[0]! };
  const base = state.base;
  if (base === null) return null;
  for (const d of base.datoms('eavt', 'current', [e, a, v], [e, a, v], true)) {
    if (!isHidden(state, e, a, v)) return { e, a, v: d.v, row: -1 };
  }
  return null;
}
