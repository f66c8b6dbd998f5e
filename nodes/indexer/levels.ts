//! Tiered durable trees: each of the eight trees is a main tree plus a few smaller "tier" trees
//! (runs) of recent datoms, so that indexing N new datoms writes a new small run and its cost does
//! not grow with the database (a B+tree under random inserts would rewrite nearly every leaf of a
//! large tree on every run).
//!
//!   each index run       its new datoms become a new run (tier), sorted and written once
//!   size class of a run  0 up to TIER0_MAX datoms, c up to TIER0_MAX × FANOUT^c (EAVT current + history)
//!   compaction           FANOUT runs of one class merge into one run (of the next class or so);
//!                        when main is among them, the result is the new main
//!
//! Size-tiered, not leveled: a datom is rewritten once per class it passes through (about
//! log_FANOUT(size / TIER0_MAX) times in all), where merging a tier into a larger next level
//! rewrites that level each time (FANOUT/2 times per level). A read merges at most FANOUT - 1 runs
//! per class below main's. Every datom is in exactly one run (a removal removes it from the run
//! that holds it), so reads merge the runs' sorted streams without shadowing, and counts add up.
//! Merging takes whole leaves by reference where the runs' key ranges do not interleave
//! (`mergeDisjoint`), as for the entities of EAVT created one run after another.
import type { Datom, IndexName } from '../datom/datom.ts';
import { emptyTree } from '../btree/durable-tree.ts';
import { indexNames } from './datom-order.ts';
import type { IndexTrees, TreePair } from './root.ts';

export const TIER0_MAX = 32_768;
export const FANOUT = 6;

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

/** The size class of a run of `size` datoms: the least c with size ≤ tier0Max × FANOUT^c. */
export function sizeClass(size: number, tier0Max: number): number {
  let c = 0;
  for (let capacity = tier0Max; size > capacity; capacity *= FANOUT) c++;
  return c;
}

/**
 * The runs to merge next, as indexes into `sizes` (one entry per run): every run of the smallest
 * class that has FANOUT runs or more; empty when no class has.
 */
export function compactionGroup(sizes: readonly number[], tier0Max: number): number[] {
  const byClass = new Map<number, number[]>();
  sizes.forEach((size, i) => {
    const c = sizeClass(size, tier0Max);
    const runs = byClass.get(c);
    if (runs === undefined) byClass.set(c, [i]);
    else runs.push(i);
  });
  const full = [...byClass].filter(([, runs]) => runs.length >= FANOUT).sort(([x], [y]) => x - y);
  return full[0]?.[1] ?? [];
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
