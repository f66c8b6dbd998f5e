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
import { CHUNK_BITS, CHUNK_MASK, type Chunk, type DatomTable } from './datom-table.ts';

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

const EAVT = 0;
const AEVT = 1;
const AVET = 2;
const VAET = 3;

/**
 * Builds the eight comparators over one table. They run in every tree search, so they are made
 * by one function literal (`orderOf`): the tree's call sites then see a single target that V8 can
 * inline, instead of eight. Each looks up the two rows' chunks once and reads the columns directly.
 */
export function ordersFor(table: DatomTable): Orders {
  const chunks = table.chunks;
  return {
    current: { eavt: orderOf(chunks, EAVT, false), aevt: orderOf(chunks, AEVT, false), avet: orderOf(chunks, AVET, false), vaet: orderOf(chunks, VAET, false) },
    history: { eavt: orderOf(chunks, EAVT, true), aevt: orderOf(chunks, AEVT, true), avet: orderOf(chunks, AVET, true), vaet: orderOf(chunks, VAET, true) },
  };
}

function orderOf(chunks: readonly Chunk[], index: number, inTime: boolean): Compare {
  return (x, y) => compareRows(chunks, index, inTime, x, y);
}

function compareRows(chunks: readonly Chunk[], index: number, inTime: boolean, x: number, y: number): number {
  const cx = chunks[x >>> CHUNK_BITS]!;
  const cy = chunks[y >>> CHUNK_BITS]!;
  const i = x & CHUNK_MASK;
  const j = y & CHUNK_MASK;
  let c: number;
  switch (index) {
    case EAVT:
      c = numberOrder(cx.e[i]!, cy.e[j]!) || cx.a[i]! - cy.a[j]! || compareValues(cx.v[i], cy.v[j]);
      break;
    case AEVT:
      c = cx.a[i]! - cy.a[j]! || numberOrder(cx.e[i]!, cy.e[j]!) || compareValues(cx.v[i], cy.v[j]);
      break;
    case AVET:
      c = cx.a[i]! - cy.a[j]! || compareValues(cx.v[i], cy.v[j]) || numberOrder(cx.e[i]!, cy.e[j]!);
      break;
    default:
      c = numberOrder(cx.v[i] as number, cy.v[j] as number) || cx.a[i]! - cy.a[j]! || numberOrder(cx.e[i]!, cy.e[j]!);
  }
  if (c !== 0 || !inTime) return c;
  // History rows of one fact: by t, then the assertion before the retraction.
  const tx = cx.t[i]!;
  const ty = cy.t[j]!;
  return Math.abs(tx) - Math.abs(ty) || ty - tx;
}

/**
 * A probe for the position just before (`end` false) or just after (`end` true) every row whose
 * leading components equal `components` (already resolved: e and a as ids, v as stored, t as t).
 * Probes run in every descent, so they read the table's columns directly, and a leading entity
 * or attribute id (the common lookups: EAVT [e], [e a]; AEVT and AVET [a ...]) is compared inline.
 */
export function probeFor(table: DatomTable, index: IndexName, components: readonly unknown[], end: boolean): Probe {
  const kinds = layout[index];
  const n = components.length;
  const tie = end ? 1 : -1;
  const chunks = table.chunks;
  if (n === 2 && kinds[0] === 'e' && kinds[1] === 'a' && typeof components[0] === 'number' && typeof components[1] === 'number') {
    const first = components[0];
    const a = components[1];
    return (row) => {
      const chunk = chunks[row >>> CHUNK_BITS]!;
      const i = row & CHUNK_MASK;
      const e = chunk.e[i]!;
      if (first !== e) return first < e ? -1 : 1;
      return a - chunk.a[i]! || tie;
    };
  }
  const rest = (chunk: Chunk, i: number, from: number): number => {
    for (let k = from; k < n; k++) {
      const c = compareInChunk(kinds[k]!, components[k], chunk, i);
      if (c !== 0) return c;
    }
    return tie;
  };
  if (n > 0 && (kinds[0] === 'e' || kinds[0] === 'a') && typeof components[0] === 'number') {
    const first = components[0];
    const byEntity = kinds[0] === 'e';
    return (row) => {
      const chunk = chunks[row >>> CHUNK_BITS]!;
      const i = row & CHUNK_MASK;
      const x = byEntity ? chunk.e[i]! : chunk.a[i]!;
      if (first !== x) return first < x ? -1 : 1;
      return rest(chunk, i, 1);
    };
  }
  return (row) => rest(chunks[row >>> CHUNK_BITS]!, row & CHUNK_MASK, 0);
}

function compareInChunk(kind: 'e' | 'a' | 'v' | 't', sought: unknown, chunk: Chunk, i: number): number {
  switch (kind) {
    case 'e':
      return numberOrder(sought as number, chunk.e[i]!);
    case 'a':
      return (sought as number) - chunk.a[i]!;
    case 'v':
      return compareValues(sought, chunk.v[i]);
    case 't': {
      const t = chunk.t[i]!;
      return numberOrder(sought as number, (t < 0 ? -t : t) - 1);
    }
  }
}

/** True when `row`'s leading components equal `components` (resolved, as for `probeFor`). */
export function rowMatches(table: DatomTable, index: IndexName, components: readonly unknown[], row: number): boolean {
  const kinds = layout[index];
  const chunk = table.chunks[row >>> CHUNK_BITS]!;
  const i = row & CHUNK_MASK;
  for (let k = 0; k < components.length; k++) if (compareInChunk(kinds[k]!, components[k], chunk, i) !== 0) return false;
  return true;
}

/** The kind of component at each position of an index. */
export function componentKinds(index: IndexName): readonly ('e' | 'a' | 'v' | 't')[] {
  return layout[index];
}

/** A tx component may be given as a tx id or a t; the index compares t. */
export function tComponent(value: number): number {
  return toT(value);
}

