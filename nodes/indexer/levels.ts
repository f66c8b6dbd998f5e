//! Tiered durable trees: each of the eight trees is a main tree plus up to a few small "tier"
//! trees of recent datoms, so that indexing N new datoms rewrites segments of the small trees only
//! and its cost does not grow with the database (a B+tree under random inserts would rewrite
//! nearly every leaf of a large tree on every run).
//!
//!   level      capacity (datoms, EAVT current + history)
//!   tier 0     TIER0_MAX                    new datoms of every index run go here
//!   tier 1     TIER0_MAX × FANOUT           tier 0 merges here when it is over capacity
//!   tier j     TIER0_MAX × FANOUT^j         ... while that capacity is below the main tree's size
//!   main       the rest                     the last tier merges into main
//!
//! Every datom is in exactly one level (a removal removes it from the level that holds it), so a
//! read merges the levels' sorted streams without shadowing, and counts add up. A tier merges
//! into the next level by rewriting that level from the two sorted streams (amortized: a datom is
//! rewritten about FANOUT times per level it passes through).
import type { Datom, IndexName } from '../datom/datom.ts';
import { emptyTree } from '../btree/durable-tree.ts';
import { indexNames } from './datom-order.ts';
import type { IndexTrees, TreePair } from './root.ts';

export const TIER0_MAX = 32_768;
export const FANOUT = 8;

/** The levels of a root, oldest (main) first. */
export type Levels = readonly IndexTrees[];

const emptyPair: TreePair = { current: emptyTree, history: emptyTree };
export const emptyTrees: IndexTrees = { eavt: emptyPair, aevt: emptyPair, avet: emptyPair, vaet: emptyPair };

/** The datoms a level holds (EAVT holds every datom once). */
export function levelSize(trees: IndexTrees): number {
  return trees.eavt.current.count + trees.eavt.history.count;
}

export function isEmptyLevel(trees: IndexTrees): boolean {
  return indexNames.every((index) => trees[index].current.count === 0 && trees[index].history.count === 0);
}

/** The capacity of tier j, given tier 0's. */
export function tierCapacity(tier0Max: number, j: number): number {
  return tier0Max * FANOUT ** j;
}

/** Merges sorted, disjoint iterators into one sorted iterator. */
export function* mergeSync(sources: Array<Iterator<Datom>>, compare: (x: Datom, y: Datom) => number): Generator<Datom> {
  if (sources.length === 1) {
    for (let r = sources[0]!.next(); !r.done; r = sources[0]!.next()) yield r.value;
    return;
  }
  const heads = sources.map((s) => s.next());
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      const head = heads[i]!;
      if (!head.done && (best === -1 || compare(head.value, (heads[best] as IteratorYieldResult<Datom>).value) < 0)) best = i;
    }
    if (best === -1) return;
    yield (heads[best] as IteratorYieldResult<Datom>).value;
    heads[best] = sources[best]!.next();
  }
}

/** `mergeSync` for asynchronous iterators. */
export async function* mergeAsync(sources: Array<AsyncIterator<Datom>>, compare: (x: Datom, y: Datom) => number): AsyncGenerator<Datom> {
  const heads = await Promise.all(sources.map((s) => s.next()));
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      const head = heads[i]!;
      if (!head.done && (best === -1 || compare(head.value, (heads[best] as IteratorYieldResult<Datom>).value) < 0)) best = i;
    }
    if (best === -1) return;
    yield (heads[best] as IteratorYieldResult<Datom>).value;
    heads[best] = await sources[best]!.next();
  }
}

export type { IndexName };
