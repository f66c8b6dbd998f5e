//! A db value's durable base (nodes/db/durable-base.ts) made of the eight trees of one index root,
//! read through the indexer's segment cache stack.
//!
//! Loading after a miss reads ahead: a synchronous reader that stops at a segment is run again
//! from its start, so a scan over k cold leaves would rerun k times. When the missing segment's
//! left sibling is in memory (a scan crossing from it), the next siblings are loaded with it (in
//! parallel): 16 the first time, twice as many each time the scan goes on, up to 256 (about 90 MB
//! of decoded leaves, well within the memory cache), so a long cold scan reruns about
//! log2(k / 16) + k / 256 times.
import type { Datom, IndexName } from '../datom/datom.ts';
import { rangeKeysSync, rankSync, SegmentNotResident, type BranchNode, type DurableTree, type TreeNode } from '../btree/durable-tree.ts';
import { activeIoContext, type DurableBase, type TreeKind } from '../db/durable-base.ts';
import { ATTR } from '../schema/bootstrap.ts';
import { tOfTx } from '../datom/datom.ts';
import type { IoContext } from '../cache/io-stats.ts';
import { datomProbe } from './datom-order.ts';
import { mergeSync } from './levels.ts';
import type { Indexer } from './indexer.ts';
import type { IndexRoot } from './root.ts';

const READ_AHEAD_MIN = 16;
const READ_AHEAD_MAX = 256;

export class IndexedBase implements DurableBase {
  readonly t: number;
  /** For each child address of a branch seen in memory: the branch and the child's position. */
  private readonly parents = new Map<string, { branch: BranchNode<Datom>; index: number }>();
  private readonly seen = new WeakSet<object>();
  /** Siblings the last read-ahead loaded; doubles while a scan goes on (see above). */
  private readAhead = READ_AHEAD_MIN / 2;
  private readonly resident = (address: string): TreeNode<Datom> => {
    const node = this.indexer.nodes.peek(address, activeIoContext());
    if (node === undefined) throw new SegmentNotResident(address, (context?: IoContext) => this.load(address, context));
    if (node.kind === 'branch' && !this.seen.has(node)) {
      this.seen.add(node);
      node.children.forEach((child, index) => this.parents.set(child.address, { branch: node, index }));
    }
    return node;
  };

  constructor(
    private readonly indexer: Indexer,
    readonly root: IndexRoot,
  ) {
    this.t = root.t;
  }

  /**
   * The t of the newest transaction at or before `ms`. Instants never go backwards and t grows
   * by one a transaction, so it is one before the first transaction whose instant is after `ms`:
   * one seek in AVET, a leaf per level at most (nothing about instants is held in memory, and
   * opening reads none of them).
   */
  tAtInstant(ms: number): number {
    for (const datom of this.datoms('avet', 'current', [ATTR.txInstant, new Date(ms)], [ATTR.txInstant], true)) {
      if ((datom.v as Date).getTime() > ms) return Math.max(0, tOfTx(datom.e) - 1);
    }
    return this.t;
  }

  /** The non-empty trees of one index and kind, one per level (levels.ts). */
  private trees(index: IndexName, kind: TreeKind): DurableTree[] {
    const out: DurableTree[] = [];
    for (const level of [this.root.trees, ...this.root.tiers]) if (level[index][kind].count > 0) out.push(level[index][kind]);
    return out;
  }

  datoms(index: IndexName, kind: TreeKind, lower: readonly unknown[], upper: readonly unknown[], upperInclusive: boolean): Iterable<Datom> {
    const config = this.indexer.config(index, kind);
    const from = bound(index, lower, false);
    const to = bound(index, upper, upperInclusive);
    return mergeSync(
      this.trees(index, kind).map((tree) => rangeKeysSync(config, tree, this.resident, from, to)),
      config.compare,
    );
  }

  count(index: IndexName, kind: TreeKind, lower: readonly unknown[], upper: readonly unknown[], upperInclusive: boolean): number {
    const config = this.indexer.config(index, kind);
    let n = 0;
    for (const tree of this.trees(index, kind)) {
      const end = upper.length === 0 ? tree.count : rankSync(config, tree, this.resident, datomProbe(index, upper, upperInclusive));
      const start = lower.length === 0 ? 0 : rankSync(config, tree, this.resident, datomProbe(index, lower, false));
      n += Math.max(0, end - start);
    }
    return n;
  }

  size(index: IndexName, kind: TreeKind): number {
    return this.trees(index, kind).reduce((n, tree) => n + tree.count, 0);
  }

  async load(address: string, context?: IoContext): Promise<void> {
    const loads = [this.indexer.nodes.load(address, context)];
    const parent = this.parents.get(address);
    // Read ahead only for a scan crossing into this segment from its left neighbour (resident):
    // a cold point lookup still reads one segment per level.
    const scanning = parent !== undefined && parent.index > 0 && this.indexer.nodes.has(parent.branch.children[parent.index - 1]!.address);
    this.readAhead = scanning ? Math.min(READ_AHEAD_MAX, this.readAhead * 2) : READ_AHEAD_MIN / 2;
    if (parent !== undefined && scanning) {
      const children = parent.branch.children;
      for (let i = parent.index + 1; i < Math.min(children.length, parent.index + 1 + this.readAhead); i++) {
        if (!this.indexer.nodes.has(children[i]!.address)) loads.push(this.indexer.nodes.load(children[i]!.address, context));
      }
    }
    await Promise.all(loads);
  }
}

/** An empty component list is no bound (the whole tree). */
function bound(index: IndexName, components: readonly unknown[], end: boolean) {
  return components.length === 0 ? undefined : datomProbe(index, components, end);
}
