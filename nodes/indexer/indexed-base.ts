//! A db value's durable base (nodes/db/durable-base.ts) made of the eight trees of one index root,
//! read through the indexer's segment cache stack.
//!
//! Loading after a miss reads ahead: a synchronous reader that stops at a segment is run again
//! from its start, so a scan over k cold leaves would rerun k times. When the missing segment is
//! a child of a branch already in memory, the next `READ_AHEAD` siblings are loaded with it (in
//! parallel), so a long cold scan reruns about k / READ_AHEAD times.
import type { Datom, IndexName } from '../datom/datom.ts';
import { keyAtSync, rangeKeysSync, rankSync, type BranchNode, type DurableTree, type TreeNode } from '../btree/durable-tree.ts';
import type { DurableBase, TreeKind } from '../db/durable-base.ts';
import type { IoContext } from '../cache/io-stats.ts';
import { datomProbe } from './datom-order.ts';
import type { Indexer } from './indexer.ts';
import type { IndexRoot } from './root.ts';

const READ_AHEAD = 16;

export class IndexedBase implements DurableBase {
  readonly t: number;
  /** For each child address of a branch seen in memory: the branch and the child's position. */
  private readonly parents = new Map<string, { branch: BranchNode<Datom>; index: number }>();
  private readonly seen = new WeakSet<object>();
  private readonly resident = (address: string): TreeNode<Datom> | undefined => {
    const node = this.indexer.nodes.peek(address, this.context);
    if (node !== undefined && node.kind === 'branch' && !this.seen.has(node)) {
      this.seen.add(node);
      node.children.forEach((child, index) => this.parents.set(child.address, { branch: node, index }));
    }
    return node;
  };

  constructor(
    private readonly indexer: Indexer,
    readonly root: IndexRoot,
    private readonly context?: IoContext,
  ) {
    this.t = root.t;
  }

  private tree(index: IndexName, kind: TreeKind): DurableTree {
    return this.root.trees[index][kind];
  }

  datoms(index: IndexName, kind: TreeKind, lower: readonly unknown[], upper: readonly unknown[], upperInclusive: boolean): Iterable<Datom> {
    const config = this.indexer.config(index, kind);
    return rangeKeysSync(config, this.tree(index, kind), this.resident, bound(index, lower, false), bound(index, upper, upperInclusive));
  }

  count(index: IndexName, kind: TreeKind, lower: readonly unknown[], upper: readonly unknown[], upperInclusive: boolean): number {
    const tree = this.tree(index, kind);
    if (tree.count === 0) return 0;
    const config = this.indexer.config(index, kind);
    const end = upper.length === 0 ? tree.count : rankSync(config, tree, this.resident, datomProbe(index, upper, upperInclusive));
    const start = lower.length === 0 ? 0 : rankSync(config, tree, this.resident, datomProbe(index, lower, false));
    return Math.max(0, end - start);
  }

  datomAt(index: IndexName, kind: TreeKind, position: number): Datom {
    return keyAtSync(this.indexer.config(index, kind), this.tree(index, kind), this.resident, position);
  }

  size(index: IndexName, kind: TreeKind): number {
    return this.tree(index, kind).count;
  }

  async load(address: string): Promise<void> {
    const loads = [this.indexer.nodes.load(address, this.context)];
    const parent = this.parents.get(address);
    if (parent !== undefined) {
      const children = parent.branch.children;
      for (let i = parent.index + 1; i < Math.min(children.length, parent.index + 1 + READ_AHEAD); i++) {
        if (this.indexer.nodes.peek(children[i]!.address) === undefined) loads.push(this.indexer.nodes.load(children[i]!.address, this.context));
      }
    }
    await Promise.all(loads);
  }
}

/** An empty component list is no bound (the whole tree). */
function bound(index: IndexName, components: readonly unknown[], end: boolean) {
  return components.length === 0 ? undefined : datomProbe(index, components, end);
}
