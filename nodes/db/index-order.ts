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
import { CHUNK_BITS, CHUNK_MASK, type DatomTable } from './datom-table.ts';

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

/**
 * Builds the eight comparators over one table. They run in every tree search, so each looks up
 * the two rows' chunks once and reads the columns directly.
 */
export function ordersFor(table: DatomTable): Orders {
  const chunks = table.chunks;
  const eavt: Compare = (x, y) => {
    const cx = chunks[x >>> CHUNK_BITS]!;
    const cy = chunks[y >>> CHUNK_BITS]!;
    const i = x & CHUNK_MASK;
    const j = y & CHUNK_MASK;
    const ex = cx.e[i]!;
    const ey = cy.e[j]!;
    if (ex !== ey) return ex < ey ? -1 : 1;
    return cx.a[i]! - cy.a[j]! || compareValues(cx.v[i], cy.v[j]);
  };
  const aevt: Compare = (x, y) => {
    const cx = chunks[x >>> CHUNK_BITS]!;
    const cy = chunks[y >>> CHUNK_BITS]!;
    const i = x & CHUNK_MASK;
    const j = y & CHUNK_MASK;
    const a = cx.a[i]! - cy.a[j]!;
    if (a !== 0) return a;
    const ex = cx.e[i]!;
    const ey = cy.e[j]!;
    if (ex !== ey) return ex < ey ? -1 : 1;
    return compareValues(cx.v[i], cy.v[j]);
  };
  const avet: Compare = (x, y) => {
    const cx = chunks[x >>> CHUNK_BITS]!;
    const cy = chunks[y >>> CHUNK_BITS]!;
    const i = x & CHUNK_MASK;
    const j = y & CHUNK_MASK;
    const a = cx.a[i]! - cy.a[j]!;
    if (a !== 0) return a;
    const v = compareValues(cx.v[i], cy.v[j]);
    if (v !== 0) return v;
    return numberOrder(cx.e[i]!, cy.e[j]!);
  };
  const vaet: Compare = (x, y) => {
    const cx = chunks[x >>> CHUNK_BITS]!;
    const cy = chunks[y >>> CHUNK_BITS]!;
    const i = x & CHUNK_MASK;
    const j = y & CHUNK_MASK;
    const v = numberOrder(cx.v[i] as number, cy.v[j] as number);
    if (v !== 0) return v;
    return cx.a[i]! - cy.a[j]! || numberOrder(cx.e[i]!, cy.e[j]!);
  };
  // History rows of one fact: by t, then the assertion before the retraction.
  const inTime = (order: Compare): Compare => (x, y) => {
    const c = order(x, y);
    if (c !== 0) return c;
    const tx = chunks[x >>> CHUNK_BITS]!.t[x & CHUNK_MASK]!;
    const ty = chunks[y >>> CHUNK_BITS]!.t[y & CHUNK_MASK]!;
    return Math.abs(tx) - Math.abs(ty) || ty - tx;
  };
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

