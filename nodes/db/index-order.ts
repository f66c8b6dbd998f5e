//! The sort orders of the four indexes over rows of a datom table, and probes for seeking them.
//!
//!   index  order of components   holds
//!   EAVT   e a v t               every datom
//!   AEVT   a e v t               every datom
//!   AVET   a v e t               every datom (Datomic Cloud indexes every attribute by value)
//!   VAET   v a e t               datoms of ref attributes only
//!
//! A current tree holds each current datom once (its assertion row), so `t` never decides there.
//! A history tree holds the assertion and retraction rows of datoms no longer current, ordered
//! by t and then assertion before retraction, so the rows of one fact come together in time order.
import type { IndexName } from '../datom/datom.ts';
import { toT } from '../datom/datom.ts';
import { compareValues } from '../values/compare.ts';
import type { Compare, Probe } from '../btree/int-tree.ts';
import type { DatomTable } from './datom-table.ts';

export const indexNames: readonly IndexName[] = ['eavt', 'aevt', 'avet', 'vaet'];

/** Component kinds, in each index's order. */
const layout: Record<IndexName, readonly ('e' | 'a' | 'v' | 't')[]> = {
  eavt: ['e', 'a', 'v', 't'],
  aevt: ['a', 'e', 'v', 't'],
  avet: ['a', 'v', 'e', 't'],
  vaet: ['v', 'a', 'e', 't'],
};

export interface Orders {
  readonly current: Record<IndexName, Compare>;
  readonly history: Record<IndexName, Compare>;
}

function numberOrder(x: number, y: number): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Builds the eight comparators over one table. */
export function ordersFor(table: DatomTable): Orders {
  const eavt: Compare = (x, y) =>
    numberOrder(table.e(x), table.e(y)) || table.a(x) - table.a(y) || compareValues(table.v(x), table.v(y));
  const aevt: Compare = (x, y) =>
    table.a(x) - table.a(y) || numberOrder(table.e(x), table.e(y)) || compareValues(table.v(x), table.v(y));
  const avet: Compare = (x, y) =>
    table.a(x) - table.a(y) || compareValues(table.v(x), table.v(y)) || numberOrder(table.e(x), table.e(y));
  const vaet: Compare = (x, y) =>
    numberOrder(table.v(x) as number, table.v(y) as number) || table.a(x) - table.a(y) || numberOrder(table.e(x), table.e(y));
  const inTime = (order: Compare): Compare => (x, y) =>
    order(x, y) || table.t(x) - table.t(y) || Number(table.added(y)) - Number(table.added(x));
  return {
    current: { eavt, aevt, avet, vaet },
    history: { eavt: inTime(eavt), aevt: inTime(aevt), avet: inTime(avet), vaet: inTime(vaet) },
  };
}

/**
 * A probe for the position just before (`end` false) or just after (`end` true) every row whose
 * leading components equal `components` (already resolved: e and a as ids, v as stored, t as t).
 */
export function probeFor(table: DatomTable, index: IndexName, components: readonly unknown[], end: boolean): Probe {
  const kinds = layout[index];
  const n = components.length;
  const tie = end ? 1 : -1;
  return (row) => {
    for (let i = 0; i < n; i++) {
      const c = compareComponent(table, kinds[i]!, components[i], row);
      if (c !== 0) return c;
    }
    return tie;
  };
}

function compareComponent(table: DatomTable, kind: 'e' | 'a' | 'v' | 't', sought: unknown, row: number): number {
  switch (kind) {
    case 'e':
      return numberOrder(sought as number, table.e(row));
    case 'a':
      return (sought as number) - table.a(row);
    case 'v':
      return compareValues(sought, table.v(row));
    case 't':
      return numberOrder(sought as number, table.t(row));
  }
}

/** The kind of component at each position of an index. */
export function componentKinds(index: IndexName): readonly ('e' | 'a' | 'v' | 't')[] {
  return layout[index];
}

/** A tx component may be given as a tx id or a t; the index compares t. */
export function tComponent(value: number): number {
  return toT(value);
}

