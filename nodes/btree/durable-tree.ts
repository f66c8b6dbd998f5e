//! A persistent B+tree whose nodes are immutable, content-addressed segments.
//!
//! The tree knows nothing about datoms or storage: keys are any `K`, order is a comparator, and
//! nodes are read and written through a `NodeStore` (which encodes them as segments and caches
//! them). A tree value is just the address of its root, its height and its key count; it never
//! changes. `mergeTree` returns a new tree that rewrites only the nodes on the paths to the keys
//! it adds or removes; every untouched subtree is shared, by address, with the old tree.
//!
//!                    Branch (height 2)   children: [address, firstKey, lastKey, count] ...
//!                   /                 \
//!       Branch (height 1)          Branch (height 1)
//!       /       |      \            /        \
//!   Leaf [k0 k1 ..] Leaf [..]   Leaf [..]   Leaf [.. kn]       (height 0: keys)
//!
//! Invariants: keys ascend strictly by `compare` along the leaves; a branch child's `firstKey` is
//! the first key of its subtree, its `lastKey` the last one (absent in segments written before it
//! was recorded) and its `count` the number of keys below it; all leaves are at
//! height 0; no node is empty; leaves hold at most `leafMax` keys, branches at most `branchMax`
//! children. Every node is checked against its parent's reference when it is loaded (height,
//! first key, count, order), so a segment that decodes but does not belong is `storage/corrupt`.
//!
//! Reads are lazy: a range iteration loads one leaf at a time and stops before loading a leaf
//! whose first key is past the upper bound, so a point lookup reads one segment per level.
import { assert } from '../util/assert.ts';
import { FactumError } from '../util/errors.ts';

export type Compare<K> = (a: K, b: K) => number;
/** Compares a sought position with a key: negative when the position is before the key. */
export type Probe<K> = (key: K) => number;

export interface ChildRef<K> {
  readonly address: string;
  readonly firstKey: K;
  /**
   * The last key of the subtree: a read sought into the gap after it skips the child without
   * loading it. Absent when a segment written before it was recorded is below.
   */
  readonly lastKey?: K;
  readonly count: number;
}

export interface LeafNode<K> {
  readonly kind: 'leaf';
  readonly keys: readonly K[];
}

export interface BranchNode<K> {
  readonly kind: 'branch';
  /** 1 for a branch of leaves, one more per level above. */
  readonly height: number;
  readonly children: readonly ChildRef<K>[];
}

export type TreeNode<K> = LeafNode<K> | BranchNode<K>;

/**
 * Reads and writes nodes as segments. `store` resolves with the node's address; the store says when
 * its writes are durable (NodeCache: `flushWrites`, which the indexer awaits before moving a root).
 */
export interface NodeStore<K> {
  load(address: string): Promise<TreeNode<K>>;
  store(node: TreeNode<K>): Promise<string>;
}

/** A tree value: its root's address (null when empty), height (0: the root is a leaf), key count. */
export interface DurableTree {
  readonly address: string | null;
  readonly height: number;
  readonly count: number;
  /**
   * A key no key of the tree is after (its last key, or a later one once keys were removed), so
   * that a read sought past it skips the tree without a segment read; absent when unknown. A `K`
   * of the tree's config (a tree value does not carry its key type).
   */
  readonly last?: unknown;
}

/** `tree` with the upper bound `last` (none if undefined). */
function withLast(tree: DurableTree, last: unknown): DurableTree {
  if (tree.address === null || last === undefined) return tree;
  return { address: tree.address, height: tree.height, count: tree.count, last };
}

/** The later of two upper bounds; undefined if either is unknown. */
function laterLast<K>(compare: Compare<K>, x: unknown, y: unknown): unknown {
  if (x === undefined || y === undefined) return undefined;
  return compare(x as K, y as K) >= 0 ? x : y;
}

/** True when every key below `child` is known to come before the position `lower`. */
function endsBeforeChild<K>(child: ChildRef<K>, lower: Probe<K> | undefined): boolean {
  return lower !== undefined && child.lastKey !== undefined && lower(child.lastKey) > 0;
}

/** True when every key of `tree` is known to come before the position `lower`. */
function endsBefore<K>(tree: DurableTree, lower: Probe<K> | undefined): boolean {
  return lower !== undefined && tree.last !== undefined && lower(tree.last as K) > 0;
}

export const emptyTree: DurableTree = Object.freeze({ address: null, height: 0, count: 0 });

export interface TreeConfig<K> {
  readonly compare: Compare<K>;
  readonly store: NodeStore<K>;
  readonly leafMax: number;
  readonly branchMax: number;
  /**
   * True where a leaf must end between two adjacent keys, so that no leaf spans a boundary the
   * keys have (the datom trees: an entity partition in EAVT). A lookup that falls into the gap
   * then skips by the leaves' last keys instead of reading the one leaf that would span it.
   * @default - no boundaries
   */
  readonly splitBetween?: (previous: K, next: K) => boolean;
}

/** `keys` cut at every boundary of `config.splitBetween`, then into leaves of at most leafMax. */
function leafPieces<K>(config: TreeConfig<K>, keys: readonly K[], fillFirst: boolean): K[][] {
  const split = config.splitBetween;
  if (split === undefined) return chunk(keys, config.leafMax, fillFirst);
  const out: K[][] = [];
  let start = 0;
  for (let i = 1; i <= keys.length; i++) {
    if (i < keys.length && !split(keys[i - 1]!, keys[i]!)) continue;
    for (const piece of chunk(keys.slice(start, i), config.leafMax, fillFirst)) out.push(piece);
    start = i;
  }
  return out;
}

interface Expected<K> {
  readonly address: string;
  readonly height: number;
  readonly count: number;
  /** Undefined for the root, whose first key no parent records. */
  readonly firstKey?: K;
  readonly lastKey?: K;
}

function corrupt(address: string, problem: string): never {
  throw new FactumError('storage/corrupt', `segment ${address} does not fit the tree: ${problem}`, { key: address });
}

/** Loads a node and checks it against what its parent says about it. */
export async function loadNode<K>(config: TreeConfig<K>, expected: Expected<K>): Promise<TreeNode<K>> {
  return checkNode(config, expected, await config.store.load(expected.address));
}

/** What a node's own content says about it, computed once per decoded node (content never changes). */
interface NodeFacts<K> {
  readonly height: number;
  readonly count: number;
  readonly first: K;
  /** Undefined for a branch whose last child's reference has no last key. */
  readonly last: K | undefined;
}
const nodeFacts = new WeakMap<object, NodeFacts<unknown>>();

/** The node, once checked against what its parent says about it; `storage/corrupt` if it differs. */
function checkNode<K>(config: TreeConfig<K>, expected: Expected<K>, node: TreeNode<K>): TreeNode<K> {
  let facts = nodeFacts.get(node) as NodeFacts<K> | undefined;
  if (facts === undefined) {
    facts = inspectNode(config, expected.address, node);
    nodeFacts.set(node, facts);
  }
  if (facts.height !== expected.height) corrupt(expected.address, `height ${facts.height}, expected ${expected.height}`);
  if (facts.count !== expected.count) corrupt(expected.address, `${facts.count} keys, expected ${expected.count}`);
  if (expected.firstKey !== undefined && config.compare(facts.first, expected.firstKey) !== 0) corrupt(expected.address, 'its first key differs from its parent\'s');
  if (expected.lastKey !== undefined && facts.last !== undefined && config.compare(facts.last, expected.lastKey) !== 0) corrupt(expected.address, 'its last key differs from its parent\'s');
  return node;
}

/** Checks a node's own shape and order (once per decoded node) and returns its height, count and first key. */
function inspectNode<K>(config: TreeConfig<K>, address: string, node: TreeNode<K>): NodeFacts<K> {
  const { compare } = config;
  if (node.kind === 'leaf') {
    if (node.keys.length === 0 || node.keys.length > config.leafMax) corrupt(address, `a leaf of ${node.keys.length} keys`);
    for (let i = 1; i < node.keys.length; i++) {
      if (compare(node.keys[i - 1]!, node.keys[i]!) >= 0) corrupt(address, `keys out of order at ${i}`);
    }
    return { height: 0, count: node.keys.length, first: node.keys[0]!, last: node.keys[node.keys.length - 1]! };
  }
  const children = node.children;
  if (children.length === 0 || children.length > config.branchMax) corrupt(address, `a branch of ${children.length} children`);
  let count = 0;
  for (let i = 0; i < children.length; i++) {
    const child = children[i]!;
    if (i > 0 && compare(children[i - 1]!.firstKey, child.firstKey) >= 0) corrupt(address, `children out of order at ${i}`);
    if (child.lastKey !== undefined && compare(child.firstKey, child.lastKey) > 0) corrupt(address, `child ${i} ends before it starts`);
    if (i > 0 && children[i - 1]!.lastKey !== undefined && compare(children[i - 1]!.lastKey!, child.firstKey) >= 0) corrupt(address, `children overlap at ${i}`);
    count += children[i]!.count;
  }
  return { height: node.height, count, first: children[0]!.firstKey, last: children[children.length - 1]!.lastKey };
}

function rootExpected<K>(tree: DurableTree): Expected<K> {
  assert(tree.address !== null, 'a non-empty tree');
  return { address: tree.address, height: tree.height, count: tree.count };
}

function childExpected<K>(child: ChildRef<K>, height: number): Expected<K> {
  return { address: child.address, height, count: child.count, firstKey: child.firstKey, lastKey: child.lastKey };
}

/** The index of the first key the position is before (keys.length if none). */
function seekLeaf<K>(keys: readonly K[], probe: Probe<K>): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (probe(keys[mid]!) < 0) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The child whose subtree holds the first key after the position: the last child whose first key is before it. */
function seekChild<K>(children: readonly ChildRef<K>[], probe: Probe<K>): number {
  let lo = 1;
  let hi = children.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (probe(children[mid]!.firstKey) > 0) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/**
 * The keys after position `lower` (from the first key when undefined) and before position `upper`
 * (to the end when undefined), in order, loading leaves only as the iteration reaches them.
 */
export async function* rangeKeys<K>(config: TreeConfig<K>, tree: DurableTree, lower?: Probe<K>, upper?: Probe<K>): AsyncGenerator<K> {
  if (tree.address === null || endsBefore(tree, lower)) return;
  const stack: Array<{ node: BranchNode<K>; index: number }> = [];
  let node = await loadNode(config, rootExpected<K>(tree));
  for (;;) {
    while (node.kind === 'branch') {
      const index = lower === undefined ? 0 : seekChild(node.children, lower);
      const child = node.children[index]!;
      // The first key of the subtree is already past the range: nothing to read below.
      if (upper !== undefined && upper(child.firstKey) <= 0) return;
      stack.push({ node, index });
      if (endsBeforeChild(child, lower)) break; // the range starts in the gap after this subtree: skip it unread
      node = await loadNode(config, childExpected(child, node.height - 1));
    }
    if (node.kind === 'leaf') {
      const keys = node.keys;
      for (let i = lower === undefined ? 0 : seekLeaf(keys, lower); i < keys.length; i++) {
        if (upper !== undefined && upper(keys[i]!) <= 0) return;
        yield keys[i]!;
      }
    }
    lower = undefined; // later leaves are read from their start
    const next = nextChild(stack);
    if (next === null) return;
    if (upper !== undefined && upper(next.child.firstKey) <= 0) return;
    node = await loadNode(config, childExpected(next.child, next.height));
  }
}

/**
 * Thrown by `rangeKeysSync` when it reaches a node that is not in memory. It is a signal for the
 * async boundary that runs a synchronous reader (a query over a db value): load `address`
 * (`NodeStore.load`), then run the reader again. Db values are immutable and readers pure, so a
 * rerun gives the answer the first run would have given.
 */
export class SegmentNotResident extends Error {
  override name = 'SegmentNotResident';
  /** `load`: makes the segment resident, when the thrower knows how (see nodes/db/durable-base.ts). */
  constructor(
    readonly address: string,
    readonly load?: (context?: any) => Promise<void>,
  ) {
    super(`segment ${address} is not in memory; load it and run the reader again`);
  }
}

/** Returns a node if it is in memory, undefined if not (never reads storage). */
export type Resident<K> = (address: string) => TreeNode<K> | undefined;

function residentNode<K>(config: TreeConfig<K>, resident: Resident<K>, expected: Expected<K>): TreeNode<K> {
  const node = resident(expected.address);
  if (node === undefined) throw new SegmentNotResident(expected.address);
  return checkNode(config, expected, node);
}

/**
 * `rangeKeys` for synchronous readers: the same keys, from nodes already in memory; at the first
 * node that is not, it throws `SegmentNotResident` naming it.
 */
export function* rangeKeysSync<K>(config: TreeConfig<K>, tree: DurableTree, resident: Resident<K>, lower?: Probe<K>, upper?: Probe<K>): Generator<K> {
  if (tree.address === null || endsBefore(tree, lower)) return;
  const stack: Array<{ node: BranchNode<K>; index: number }> = [];
  let node = residentNode(config, resident, rootExpected<K>(tree));
  for (;;) {
    while (node.kind === 'branch') {
      const index = lower === undefined ? 0 : seekChild(node.children, lower);
      const child = node.children[index]!;
      // The first key of the subtree is already past the range: nothing to read below.
      if (upper !== undefined && upper(child.firstKey) <= 0) return;
      stack.push({ node, index });
      if (endsBeforeChild(child, lower)) break; // the range starts in the gap after this subtree: skip it unread
      node = residentNode(config, resident, childExpected(child, node.height - 1));
    }
    if (node.kind === 'leaf') {
      const keys = node.keys;
      for (let i = lower === undefined ? 0 : seekLeaf(keys, lower); i < keys.length; i++) {
        if (upper !== undefined && upper(keys[i]!) <= 0) return;
        yield keys[i]!;
      }
    }
    lower = undefined;
    const next = nextChild(stack);
    if (next === null) return;
    if (upper !== undefined && upper(next.child.firstKey) <= 0) return;
    node = residentNode(config, resident, childExpected(next.child, next.height));
  }
}

/** Moves the stack to the next child in key order; null at the end of the tree. */
function nextChild<K>(stack: Array<{ node: BranchNode<K>; index: number }>): { child: ChildRef<K>; height: number } | null {
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    top.index++;
    if (top.index < top.node.children.length) return { child: top.node.children[top.index]!, height: top.node.height - 1 };
    stack.pop();
  }
  return null;
}

/** `rankOf` for synchronous readers: from nodes in memory, else `SegmentNotResident`. */
export function rankSync<K>(config: TreeConfig<K>, tree: DurableTree, resident: Resident<K>, probe: Probe<K>): number {
  if (tree.address === null) return 0;
  if (endsBefore(tree, probe)) return tree.count;
  let node = residentNode(config, resident, rootExpected<K>(tree));
  let before = 0;
  while (node.kind === 'branch') {
    const index = seekChild(node.children, probe);
    if (index === 0 && probe(node.children[0]!.firstKey) < 0) return before; // before every key below
    for (let i = 0; i < index; i++) before += node.children[i]!.count;
    if (endsBeforeChild(node.children[index]!, probe)) return before + node.children[index]!.count; // in the gap after it
    node = residentNode(config, resident, childExpected(node.children[index]!, node.height - 1));
  }
  return before + seekLeaf(node.keys, probe);
}

/** The number of keys before the position: one descent, using the counts of the branches. */
export async function rankOf<K>(config: TreeConfig<K>, tree: DurableTree, probe: Probe<K>): Promise<number> {
  if (tree.address === null) return 0;
  if (endsBefore(tree, probe)) return tree.count;
  let node = await loadNode(config, rootExpected<K>(tree));
  let before = 0;
  while (node.kind === 'branch') {
    const index = seekChild(node.children, probe);
    if (index === 0 && probe(node.children[0]!.firstKey) < 0) return before; // before every key below
    for (let i = 0; i < index; i++) before += node.children[i]!.count;
    if (endsBeforeChild(node.children[index]!, probe)) return before + node.children[index]!.count; // in the gap after it
    node = await loadNode(config, childExpected(node.children[index]!, node.height - 1));
  }
  return before + seekLeaf(node.keys, probe);
}

/** Every segment address of the tree (branches are loaded; leaves are named by their parents). */
export async function collectAddresses<K>(config: TreeConfig<K>, tree: DurableTree, into: Set<string>): Promise<void> {
  if (tree.address === null) return;
  into.add(tree.address);
  if (tree.height === 0) return;
  const visit = async (expected: Expected<K>): Promise<void> => {
    const node = await loadNode(config, expected);
    if (node.kind === 'leaf') return;
    const below: Array<Promise<void>> = [];
    for (const child of node.children) {
      if (into.has(child.address)) continue; // shared subtree already visited
      into.add(child.address);
      if (node.height > 1) below.push(visit(childExpected(child, node.height - 1)));
    }
    await Promise.all(below);
  };
  await visit(rootExpected<K>(tree));
}

/** Splits `items` into pieces of at most `max`: equal sizes, or full pieces first at the right edge. */
export function chunk<T>(items: readonly T[], max: number, fillFirst: boolean): T[][] {
  const pieces = Math.ceil(items.length / max);
  const out: T[][] = [];
  let start = 0;
  for (let p = 0; p < pieces; p++) {
    const size = fillFirst ? Math.min(max, items.length - start) : Math.ceil((items.length - start) / (pieces - p));
    out.push(items.slice(start, start + size));
    start += size;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Building: bottom-up from a sorted stream, one pending node per level.

async function writeNode<K>(config: TreeConfig<K>, node: TreeNode<K>): Promise<ChildRef<K>> {
  const address = await config.store.store(node);
  if (node.kind === 'leaf') return { address, firstKey: node.keys[0]!, lastKey: node.keys[node.keys.length - 1]!, count: node.keys.length };
  let count = 0;
  for (const child of node.children) count += child.count;
  const lastKey = node.children[node.children.length - 1]!.lastKey;
  return lastKey === undefined ? { address, firstKey: node.children[0]!.firstKey, count } : { address, firstKey: node.children[0]!.firstKey, lastKey, count };
}

/** Stacks child references into branches, level by level, as a sorted build produces them. */
class LevelBuilder<K> {
  /** levels[h]: the references of height h waiting for their parent. */
  private readonly levels: ChildRef<K>[][] = [];

  constructor(private readonly config: TreeConfig<K>) {}

  async push(ref: ChildRef<K>, height: number): Promise<void> {
    while (this.levels.length <= height) this.levels.push([]);
    const level = this.levels[height]!;
    level.push(ref);
    if (level.length === this.config.branchMax) {
      const children = level.splice(0);
      await this.push(await writeNode(this.config, { kind: 'branch', height: height + 1, children }), height + 1);
    }
  }

  /** Writes the partial nodes of every level; the tree of everything pushed. */
  async finish(): Promise<DurableTree> {
    for (let h = 0; h < this.levels.length; h++) {
      const level = this.levels[h]!;
      const isTop = this.levels.slice(h + 1).every((above) => above.length === 0);
      if (isTop && level.length === 1) {
        return { address: level[0]!.address, height: h, count: level[0]!.count };
      }
      if (level.length > 0) {
        const children = level.splice(0);
        await this.push(await writeNode(this.config, { kind: 'branch', height: h + 1, children }), h + 1);
      }
    }
    return emptyTree;
  }
}

/** A tree of `keys`, which must ascend strictly; leaves are filled to `leafMax`. */
export async function buildTree<K>(config: TreeConfig<K>, keys: readonly K[]): Promise<DurableTree> {
  for (let i = 1; i < keys.length; i++) assert(config.compare(keys[i - 1]!, keys[i]!) < 0, 'buildTree: keys must ascend strictly');
  const builder = new LevelBuilder(config);
  for (const piece of leafPieces(config, keys, true)) await builder.push(await writeNode(config, { kind: 'leaf', keys: piece }), 0);
  return withLast(await builder.finish(), keys[keys.length - 1]);
}

/** Leaves `mergeDisjoint` requests ahead of the one it loads. */
const READ_AHEAD = 4;

/** The leaves of one tree for `mergeDisjoint`: leaf references from the branches, loaded only when needed. */
class RunCursor<K> {
  private readonly stack: Array<{ node: BranchNode<K>; index: number }> = [];
  /** The next leaf, not loaded (null when there is none or it is loaded into `keys`). */
  ref: ChildRef<K> | null = null;
  /** The leaf after `ref` (null if `ref` is the last). */
  after: ChildRef<K> | null = null;
  /** The keys of a loaded leaf not taken yet, from `at`. */
  keys: readonly K[] = [];
  at = 0;

  private constructor(private readonly config: TreeConfig<K>) {}

  static async open<K>(config: TreeConfig<K>, tree: DurableTree): Promise<RunCursor<K>> {
    const cursor = new RunCursor(config);
    if (tree.address === null) return cursor;
    const root = await loadNode(config, rootExpected<K>(tree));
    if (root.kind === 'leaf') {
      cursor.keys = root.keys;
      return cursor;
    }
    let node: TreeNode<K> = root;
    while (node.kind === 'branch' && node.height > 1) {
      cursor.stack.push({ node, index: 0 });
      node = await loadNode(config, childExpected(node.children[0]!, node.height - 1));
    }
    cursor.stack.push({ node: node as BranchNode<K>, index: 0 });
    cursor.ref = (node as BranchNode<K>).children[0]!;
    cursor.after = await cursor.nextRef();
    return cursor;
  }

  /** The next leaf reference after the one the stack is at (loads branches only). */
  private async nextRef(): Promise<ChildRef<K> | null> {
    const next = nextChild(this.stack);
    if (next === null) return null;
    let child = next.child;
    for (let height = next.height; height > 0; height--) {
      const node = (await loadNode(this.config, childExpected(child, height))) as BranchNode<K>;
      this.stack.push({ node, index: 0 });
      child = node.children[0]!;
    }
    return child;
  }

  /** The smallest key not taken yet (undefined at the end). */
  head(): K | undefined {
    return this.at < this.keys.length ? this.keys[this.at] : this.ref?.firstKey;
  }

  /** Moves past `ref` without loading it (it was taken whole). */
  async skip(): Promise<void> {
    this.ref = this.after;
    this.after = this.ref === null ? null : await this.nextRef();
  }

  /**
   * Loads `ref` into `keys` and moves past it. Where leaves have to be loaded (their keys
   * interleave with another tree's), the next ones likely will too: they are requested now, so
   * that their reads overlap.
   */
  async load(): Promise<void> {
    const top = this.stack[this.stack.length - 1];
    if (top !== undefined) {
      const ahead = top.node.children.slice(top.index, top.index + READ_AHEAD); // from `after` on
      for (const child of ahead) this.config.store.load(child.address).catch(() => undefined); // a failure shows when it is loaded
    }
    const leaf = (await loadNode(this.config, childExpected(this.ref!, 0))) as LeafNode<K>;
    this.keys = leaf.keys;
    this.at = 0;
    await this.skip();
  }
}

/**
 * A new tree holding the keys of trees with no key in common (a streaming rebuild, for merging
 * tiers). Keys are merged into full leaves; a leaf whose whole key range falls before every other
 * tree's next key is taken as it is, by reference, without loading it (disjoint key ranges, as of
 * entities created one run after another, cost little more than their branches).
 */
export async function mergeDisjoint<K>(config: TreeConfig<K>, trees: readonly DurableTree[]): Promise<DurableTree> {
  const nonEmpty = trees.filter((tree) => tree.count > 0);
  if (nonEmpty.length <= 1) return nonEmpty[0] ?? emptyTree;
  const builder = new LevelBuilder(config);
  const { compare, leafMax } = config;
  const cursors = await Promise.all(nonEmpty.map((tree) => RunCursor.open(config, tree)));
  let pending: K[] = [];
  const flush = async (keys: K[]): Promise<void> => {
    for (const piece of leafPieces(config, keys, false)) await builder.push(await writeNode(config, { kind: 'leaf', keys: piece }), 0);
  };
  for (;;) {
    // The cursor with the smallest head, and the smallest head of the others.
    let best: RunCursor<K> | null = null;
    let bestHead: K | undefined;
    let otherHead: K | undefined;
    for (const cursor of cursors) {
      const head = cursor.head();
      if (head === undefined) continue;
      if (best === null || compare(head, bestHead as K) < 0) {
        if (best !== null) otherHead = bestHead;
        best = cursor;
        bestHead = head;
      } else if (otherHead === undefined || compare(head, otherHead) < 0) {
        otherHead = head;
      }
    }
    if (best === null) break;
    if (otherHead !== undefined) assert(compare(bestHead as K, otherHead) !== 0, 'mergeDisjoint: the trees share a key');
    if (best.at === best.keys.length) {
      // At a leaf boundary: a leaf whose keys all come before every other head is taken whole,
      // by reference if it is at least half full and the leaf being built can be closed first.
      // (Its last key says so; for a leaf written before last keys were recorded, the next one's first key.)
      const ref = best.ref!;
      const whole =
        otherHead === undefined ||
        (ref.lastKey !== undefined ? compare(ref.lastKey, otherHead) < 0 : best.after !== null && compare(best.after.firstKey, otherHead) <= 0);
      if (whole && ref.count >= leafMax / 2) {
        if (pending.length >= leafMax / 2) {
          await flush(pending);
          pending = [];
        }
        if (pending.length === 0) {
          await builder.push(ref, 0);
          await best.skip();
          continue;
        }
      }
      await best.load();
      if (whole) {
        pending.push(...best.keys);
        best.at = best.keys.length;
        if (pending.length >= leafMax / 2) {
          await flush(pending); // one or two leaves; the next leaf starts aligned
          pending = [];
        }
        continue;
      }
    }
    const keys = best.keys;
    let at = best.at;
    // (A leaf boundary of splitBetween among the pending keys is cut where they are flushed.)
    while (at < keys.length && (otherHead === undefined || compare(keys[at]!, otherHead) < 0)) {
      pending.push(keys[at++]!);
      if (pending.length === leafMax) {
        best.at = at;
        await flush(pending);
        pending = [];
      }
    }
    best.at = at;
  }
  if (pending.length > 0) await flush(pending);
  const last = nonEmpty.map((tree) => tree.last).reduce((later, bound) => laterLast(compare, later, bound));
  return withLast(await builder.finish(), last);
}

// ---------------------------------------------------------------------------------------------
// Merging: one walk down the paths the edits touch; a touched node becomes zero or more nodes of
// the same height, which replace it in its parent.

interface Edit<K> {
  readonly key: K;
  readonly add: boolean;
}

/** Adds and removes as one sorted list; a remove comes before an add of an equal key (a replacement). */
function sortedEdits<K>(compare: Compare<K>, adds: readonly K[], removes: readonly K[]): Edit<K>[] {
  const edits: Edit<K>[] = [];
  let i = 0;
  let j = 0;
  while (i < adds.length || j < removes.length) {
    const takeRemove = j < removes.length && (i === adds.length || compare(removes[j]!, adds[i]!) <= 0);
    if (takeRemove) edits.push({ key: removes[j++]!, add: false });
    else edits.push({ key: adds[i++]!, add: true });
  }
  for (let k = 1; k < edits.length; k++) {
    const order = compare(edits[k - 1]!.key, edits[k]!.key);
    assert(order < 0 || (order === 0 && !edits[k - 1]!.add && edits[k]!.add), 'mergeTree: adds and removes must each ascend strictly');
  }
  return edits;
}

/** The keys of a leaf after the edits; every remove must find its key and no add may find one. */
function applyEdits<K>(compare: Compare<K>, keys: readonly K[], edits: readonly Edit<K>[]): K[] {
  const out: K[] = [];
  let i = 0;
  for (const edit of edits) {
    while (i < keys.length && compare(keys[i]!, edit.key) < 0) out.push(keys[i++]!);
    if (edit.add) {
      assert(i >= keys.length || compare(keys[i]!, edit.key) !== 0, 'mergeTree: an added key is already in the tree');
      out.push(edit.key);
    } else {
      assert(i < keys.length && compare(keys[i]!, edit.key) === 0, 'mergeTree: a removed key is not in the tree');
      i++;
    }
  }
  while (i < keys.length) out.push(keys[i++]!);
  return out;
}

export interface MergeResult {
  readonly tree: DurableTree;
  /** Segments written by this merge. */
  readonly written: number;
}

class Merger<K> {
  written = 0;
  constructor(private readonly config: TreeConfig<K>) {}

  async write(node: TreeNode<K>): Promise<ChildRef<K>> {
    this.written++;
    return writeNode(this.config, node);
  }

  /** The nodes (of the same height) that replace `expected` once `edits` are applied below it. */
  async mergeNode(expected: Expected<K>, edits: readonly Edit<K>[], rightEdge: boolean): Promise<ChildRef<K>[]> {
    const node = await loadNode(this.config, expected);
    if (node.kind === 'leaf') {
      const keys = applyEdits(this.config.compare, node.keys, edits);
      return Promise.all(leafPieces(this.config, keys, rightEdge).map((piece) => this.write({ kind: 'leaf', keys: piece })));
    }
    const children = await this.mergeChildren(node, edits, rightEdge);
    const pieces = chunk(children, this.config.branchMax, rightEdge);
    return Promise.all(pieces.map((piece) => this.write({ kind: 'branch', height: node.height, children: piece })));
  }

  /** The children of `node` after the edits, each touched child merged (in parallel). */
  private async mergeChildren(node: BranchNode<K>, edits: readonly Edit<K>[], rightEdge: boolean): Promise<ChildRef<K>[]> {
    const { compare } = this.config;
    const children = node.children;
    const jobs: Array<Promise<ChildRef<K>[]> | ChildRef<K>> = [];
    const touched: boolean[] = [];
    let start = 0;
    for (let i = 0; i < children.length; i++) {
      let end = start;
      if (i === children.length - 1) end = edits.length;
      else while (end < edits.length && compare(edits[end]!.key, children[i + 1]!.firstKey) < 0) end++;
      const child = children[i]!;
      const isRightEdge = rightEdge && i === children.length - 1;
      jobs.push(end === start ? child : this.mergeNode(childExpected(child, node.height - 1), edits.slice(start, end), isRightEdge));
      touched.push(end !== start);
      start = end;
    }
    const results = await Promise.all(jobs);
    const out: Array<{ ref: ChildRef<K>; touched: boolean }> = [];
    results.forEach((result, i) => {
      if (Array.isArray(result)) for (const ref of result) out.push({ ref, touched: touched[i]! });
      else out.push({ ref: result, touched: false });
    });
    return node.height === 1 ? this.compactLeaves(out) : out.map((entry) => entry.ref);
  }

  /**
   * A rewritten leaf left with fewer than a quarter of `leafMax` keys is joined with a neighbour
   * it fits into (one more read and write), so that removals cannot leave a tree of nearly empty
   * segments. A small leaf next to full ones stays: joining would only split again.
   */
  private async compactLeaves(entries: Array<{ ref: ChildRef<K>; touched: boolean }>): Promise<ChildRef<K>[]> {
    const { leafMax } = this.config;
    const leafMin = Math.max(1, Math.floor(leafMax / 4));
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      if (!entry.touched || entry.ref.count >= leafMin) continue;
      // A neighbour across a leaf boundary (splitBetween) is no candidate; last keys tell without a read.
      const across = (left: ChildRef<K>, right: ChildRef<K>): boolean => left.lastKey !== undefined && this.config.splitBetween?.(left.lastKey, right.firstKey) === true;
      const fits = (j: number): boolean =>
        j >= 0 && j < entries.length && entries[j]!.ref.count + entry.ref.count <= leafMax && !(j > i ? across(entry.ref, entries[j]!.ref) : across(entries[j]!.ref, entry.ref));
      const j = fits(i + 1) ? i + 1 : fits(i - 1) ? i - 1 : -1;
      if (j === -1) continue;
      const [left, right] = j > i ? [entry.ref, entries[j]!.ref] : [entries[j]!.ref, entry.ref];
      const [leftKeys, rightKeys] = [await this.leafKeys(left), await this.leafKeys(right)];
      if (this.config.splitBetween?.(leftKeys[leftKeys.length - 1]!, rightKeys[0]!) === true) continue; // a boundary between them stays
      const keys = [...leftKeys, ...rightKeys];
      const ref = await this.write({ kind: 'leaf', keys });
      entries.splice(Math.min(i, j), 2, { ref, touched: true });
      i = Math.min(i, j) - 1; // the joined leaf may still be small: look at it again
    }
    return entries.map((entry) => entry.ref);
  }

  private async leafKeys(ref: ChildRef<K>): Promise<readonly K[]> {
    const node = await loadNode(this.config, childExpected(ref, 0));
    assert(node.kind === 'leaf', 'a child of height 0 is a leaf');
    return node.keys;
  }

  /** The tree whose top level is `refs` (of height `height`): new levels above, single-child roots removed. */
  async rootOf(refs: ChildRef<K>[], height: number): Promise<DurableTree> {
    while (refs.length > 1) {
      const pieces = chunk(refs, this.config.branchMax, true);
      height++;
      refs = await Promise.all(pieces.map((children) => this.write({ kind: 'branch', height, children })));
    }
    if (refs.length === 0) return emptyTree;
    let tree: DurableTree = { address: refs[0]!.address, height, count: refs[0]!.count };
    while (tree.height > 0) {
      const node = await loadNode(this.config, rootExpected<K>(tree));
      if (node.kind !== 'branch' || node.children.length > 1) break;
      tree = { address: node.children[0]!.address, height: tree.height - 1, count: tree.count };
    }
    return tree;
  }
}

/**
 * A new tree holding the keys of `tree`, without `removes`, with `adds` (each sorted ascending by
 * `compare`; a key may be both removed and added, which replaces it). Only nodes on the paths to
 * edited keys are written; all others are shared with `tree`.
 */
export async function mergeTree<K>(config: TreeConfig<K>, tree: DurableTree, adds: readonly K[], removes: readonly K[]): Promise<MergeResult> {
  const merger = new Merger(config);
  if (tree.address === null) {
    // A new tree (a new run, most often): the adds, checked, built bottom-up.
    assert(removes.length === 0, 'mergeTree: removing keys from an empty tree');
    if (adds.length === 0) return { tree, written: 0 };
    const root = await buildCounting(config, adds, merger); // buildTree checks their order
    return { tree: root, written: merger.written };
  }
  const edits = sortedEdits(config.compare, adds, removes);
  if (edits.length === 0) return { tree, written: 0 };
  const refs = await merger.mergeNode(rootExpected<K>(tree), edits, true);
  // Removals leave the old bound valid (an upper bound); additions may raise it.
  const last = adds.length === 0 ? tree.last : laterLast(config.compare, tree.last, adds[adds.length - 1]);
  return { tree: withLast(await merger.rootOf(refs, tree.height), last), written: merger.written };
}

async function buildCounting<K>(config: TreeConfig<K>, keys: readonly K[], merger: Merger<K>): Promise<DurableTree> {
  const counting: TreeConfig<K> = {
    ...config,
    store: { load: (address) => config.store.load(address), store: (node) => (merger.written++, config.store.store(node)) },
  };
  return buildTree(counting, keys);
}
