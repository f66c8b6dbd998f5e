//! One index run's work, without the commit: from the current root and novelty to the next root,
//! its segments written (and durable) through a node store. The Indexer then moves the root by
//! compare-and-swap. This part touches no storage record, so it can run in a worker thread
//! (index-worker.ts) whose segment reads and writes go through the main thread.
//!
//!   edits (novelty.ts) ──▶ removals in the run that holds each datom, additions as a new run
//!                      ──▶ compaction (levels.ts) ──▶ flushWrites ──▶ the next root (not yet committed)
import type { Datom, IndexName } from '../datom/datom.ts';
import { mergeDisjoint, mergeTree, rangeKeys, type DurableTree, type NodeStore, type TreeConfig } from '../btree/durable-tree.ts';
import type { NodeCache } from '../cache/node-cache.ts';
import { compactionGroup, emptyTrees, isEmptyLevel, levelSize } from './levels.ts';
import { currentOrders, datomProbe, historyOrders, indexNames, leafSplits } from './datom-order.ts';
import { editsOf, type AttributeFacts, type LoggedTransaction } from './novelty.ts';
import type { IndexRoot, IndexTrees, TreePair } from './root.ts';

/** What one indexing run covers: novelty up to `t`, and the state a db at `t` needs to open. */
export interface IndexInput {
  readonly t: number;
  readonly logPosition: number;
  readonly nextUserN: number;
  readonly nextDbN: number;
  readonly lastTxInstantMs: number;
  /** Every transaction after the current root's t, up to and including `t`, in t order. */
  readonly transactions: readonly LoggedTransaction[];
  readonly schema: AttributeFacts;
}

export interface BuildSettings {
  readonly leafMax: number;
  readonly branchMax: number;
  readonly tier0Max: number;
}

export interface Built {
  /** The next root: every segment it names is durable; nothing names it yet. */
  readonly root: IndexRoot;
  readonly segmentsWritten: number;
  readonly datoms: number;
}

export type TreeKind = 'current' | 'history';

/** The configuration of one of the eight datom trees: its order, leaf boundaries and node sizes. */
export function datomTreeConfig(index: IndexName, kind: TreeKind, store: NodeStore<Datom>, sizes: { readonly leafMax: number; readonly branchMax: number }): TreeConfig<Datom> {
  const compare = kind === 'current' ? currentOrders[index] : historyOrders[index];
  return { compare, store, leafMax: sizes.leafMax, branchMax: sizes.branchMax, splitBetween: leafSplits[index] };
}

/** Builds the next root in this thread, through `nodes`. */
export class RootBuilder {
  constructor(
    private readonly nodes: NodeCache<Datom>,
    private readonly settings: BuildSettings,
  ) {}

  private config(index: IndexName, kind: TreeKind): TreeConfig<Datom> {
    return datomTreeConfig(index, kind, this.nodes, this.settings);
  }

  /** The next root after `previous` (null: none yet) covering `input`, written at `nowMs`. */
  async build(previous: IndexRoot | null, input: IndexInput, nowMs: number): Promise<Built> {
    await this.nodes.flushWrites().catch(() => undefined); // writes of an earlier failed run: garbage
    // Levels, oldest first: main, then the tiers from the oldest. A fact current at the root is in
    // exactly one level; removals go to that level.
    const tiers = previous?.tiers ?? [];
    const levels: IndexTrees[] = [previous?.trees ?? emptyTrees, ...tiers.slice().reverse()];
    const levelOf = new WeakMap<Datom, number>();
    const lookup = async (e: number, a: number, v: unknown): Promise<Datom | null> => {
      for (let level = levels.length - 1; level >= 0; level--) {
        const tree = levels[level]!.eavt.current;
        if (tree.count === 0) continue;
        for await (const datom of rangeKeys(this.config('eavt', 'current'), tree, datomProbe('eavt', [e, a, v], false), datomProbe('eavt', [e, a, v], true))) {
          levelOf.set(datom, level);
          return datom;
        }
      }
      return null;
    };
    const edits = await editsOf(input.transactions, input.schema, lookup);
    let segmentsWritten = 0;
    // The first run builds the main trees; each later run adds a new tier (the newest level, last).
    if (previous !== null) levels.push(emptyTrees);
    const addLevel = levels.length - 1;
    const next = levels.map((trees) => ({ ...trees }) as Record<IndexName, TreePair>);
    await Promise.all(
      indexNames.flatMap((index) =>
        levels.map(async (trees, level) => {
          const removes = edits.current[index].removes.filter((datom) => (levelOf.get(datom) ?? 0) === level);
          const currentAdds = level === addLevel ? edits.current[index].adds : [];
          const historyAdds = level === addLevel ? edits.history[index].adds : [];
          const pair = trees[index];
          const [current, history] = await Promise.all([
            removes.length + currentAdds.length === 0 ? { tree: pair.current, written: 0 } : mergeTree(this.config(index, 'current'), pair.current, currentAdds, removes),
            historyAdds.length === 0 ? { tree: pair.history, written: 0 } : mergeTree(this.config(index, 'history'), pair.history, historyAdds, []),
          ]);
          segmentsWritten += current.written + history.written;
          next[level]![index] = { current: current.tree, history: history.tree };
        }),
      ),
    );
    const compacted = await this.compact(next);
    await this.nodes.flushWrites(); // every segment the root will name is durable before it does
    const retired = previous === null ? [] : [{ t: previous.t, trees: previous.trees, tiers: previous.tiers, retiredAtMs: nowMs }, ...previous.retired];
    const root: IndexRoot = {
      t: input.t,
      logPosition: input.logPosition,
      nextUserN: input.nextUserN,
      nextDbN: input.nextDbN,
      lastTxInstantMs: input.lastTxInstantMs,
      trees: compacted.main,
      tiers: compacted.tiers,
      writtenAtMs: nowMs,
      retired,
      retiredDroppedMs: previous?.retiredDroppedMs ?? 0,
    };
    return { root, segmentsWritten, datoms: edits.datoms };
  }

  /**
   * Merges runs of one size class while some class has FANOUT of them (levels.ts). `levels` is
   * oldest first (main, then the tiers from the oldest); returns main and the non-empty tiers,
   * newest first.
   */
  private async compact(levels: Array<Record<IndexName, TreePair>>): Promise<{ main: IndexTrees; tiers: IndexTrees[] }> {
    let runs: IndexTrees[] = levels.filter((trees, i) => i === 0 || !isEmptyLevel(trees));
    for (;;) {
      const group = compactionGroup(runs.map(levelSize), this.settings.tier0Max);
      if (group.length === 0) break;
      const merged = await this.mergeLevels(group.map((i) => runs[i]!));
      // The merged run takes the place of the oldest run it merges (main, if main is among them).
      runs = runs.flatMap((trees, i) => (i === group[0] ? [merged] : group.includes(i) ? [] : [trees]));
    }
    return { main: runs[0]!, tiers: runs.slice(1).reverse() };
  }

  /** A level holding the datoms of the given (disjoint) levels, each tree rebuilt from their sorted streams. */
  private async mergeLevels(levels: readonly IndexTrees[]): Promise<IndexTrees> {
    const out = {} as Record<IndexName, TreePair>;
    await Promise.all(
      indexNames.map(async (index) => {
        const pair = {} as Record<TreeKind, DurableTree>;
        for (const kind of ['current', 'history'] as const) {
          pair[kind] = await mergeDisjoint(this.config(index, kind), levels.map((trees) => trees[index][kind]));
        }
        out[index] = pair as TreePair;
      }),
    );
    return out;
  }
}
