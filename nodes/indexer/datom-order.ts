//! The orders of the durable datom trees, and probes to seek them by leading components.
//!
//! The same orders as the memory index (nodes/db/index-order.ts), over datoms instead of rows:
//!
//!   index  current tree    history tree (assertion and retraction datoms of past facts)
//!   EAVT   e a v           e a v, then t, then the assertion before the retraction
//!   AEVT   a e v           likewise
//!   AVET   a v e           likewise
//!   VAET   v a e           likewise (ref attributes only)
//!
//! Current and history are separate trees, so that current-value reads never wade through
//! history (Datomic does the same).
import type { Datom, IndexName } from '../datom/datom.ts';
import { partitionOf, tOfTx } from '../datom/datom.ts';
import { compareValues } from '../values/compare.ts';
import type { Compare, Probe } from '../btree/durable-tree.ts';

export const indexNames: readonly IndexName[] = ['eavt', 'aevt', 'avet', 'vaet'];

type Component = 'e' | 'a' | 'v' | 't';

const layout: Record<IndexName, readonly Component[]> = {
  eavt: ['e', 'a', 'v', 't'],
  aevt: ['a', 'e', 'v', 't'],
  avet: ['a', 'v', 'e', 't'],
  vaet: ['v', 'a', 'e', 't'],
};

function numberOrder(x: number, y: number): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

// One comparator per order, written out: they run for every key of every merge and check.
const eavt: Compare<Datom> = (x, y) => numberOrder(x.e, y.e) || x.a - y.a || compareValues(x.v, y.v);
const aevt: Compare<Datom> = (x, y) => x.a - y.a || numberOrder(x.e, y.e) || compareValues(x.v, y.v);
const avet: Compare<Datom> = (x, y) => x.a - y.a || compareValues(x.v, y.v) || numberOrder(x.e, y.e);
const vaet: Compare<Datom> = (x, y) => numberOrder(x.v as number, y.v as number) || x.a - y.a || numberOrder(x.e, y.e);
const factOrders: Readonly<Record<IndexName, Compare<Datom>>> = { eavt, aevt, avet, vaet };

function currentOrder(index: IndexName): Compare<Datom> {
  return factOrders[index];
}

function historyOrder(index: IndexName): Compare<Datom> {
  const fact = currentOrder(index);
  return (x, y) => fact(x, y) || numberOrder(x.tx, y.tx) || Number(y.added) - Number(x.added);
}

export const currentOrders: Readonly<Record<IndexName, Compare<Datom>>> = {
  eavt: currentOrder('eavt'),
  aevt: currentOrder('aevt'),
  avet: currentOrder('avet'),
  vaet: currentOrder('vaet'),
};

export const historyOrders: Readonly<Record<IndexName, Compare<Datom>>> = {
  eavt: historyOrder('eavt'),
  aevt: historyOrder('aevt'),
  avet: historyOrder('avet'),
  vaet: historyOrder('vaet'),
};

/**
 * Where a leaf must end (TreeConfig.splitBetween): EAVT leaves never span two entity partitions,
 * so the last user-entity leaf of a run ends with a user entity, not with the transactions after
 * it, and a lookup of an entity created after the run skips the run by last keys, reading nothing.
 */
export const leafSplits: Readonly<Partial<Record<IndexName, (x: Datom, y: Datom) => boolean>>> = {
  eavt: (x, y) => partitionOf(x.e) !== partitionOf(y.e),
};

function compareSought(kind: Component, sought: unknown, datom: Datom): number {
  switch (kind) {
    case 'e':
      return numberOrder(sought as number, datom.e);
    case 'a':
      return (sought as number) - datom.a;
    case 'v':
      return compareValues(sought, datom.v);
    case 't':
      return numberOrder(sought as number, tOfTx(datom.tx));
  }
}

/**
 * A probe for the position just before (`end` false) or just after (`end` true) every datom
 * whose leading components equal `components` (resolved: e and a as ids, v as stored, t as t).
 */
export function datomProbe(index: IndexName, components: readonly unknown[], end: boolean): Probe<Datom> {
  const kinds = layout[index];
  const tie = end ? 1 : -1;
  return (datom) => {
    for (let i = 0; i < components.length; i++) {
      const c = compareSought(kinds[i]!, components[i], datom);
      if (c !== 0) return c;
    }
    return tie;
  };
}
