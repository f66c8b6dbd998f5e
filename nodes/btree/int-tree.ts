//! A persistent B+tree of int keys, ordered by a comparator the caller supplies on every call.
//!
//! The tree knows nothing about datoms: a key is a non-negative int (for the memory index, a row
//! of the datom table) and order comes from `cmp(a, b)`. Nodes are never modified after they are
//! built; every update returns a new root that shares all untouched subtrees with the old one, so
//! any number of db values can hold their own roots at once.
//!
//!            Branch [17 | 42 | 90]  size = 9       (each child's maxKey routes searches)
//!           /             |              \
//!   Leaf [3 9 17]   Leaf [20 31 42]   Leaf [55 61 90]
//!
//! Every node keeps its largest key (its parent routes searches by them) and its size (so a range
//! count is two descents). Updates come in sorted batches: `insertSorted` and `removeSorted` walk
//! the tree once per batch and copy only the nodes on the paths they touch (each such branch is
//! copied once and patched). A touched child may come back over- or underfull; its parent then
//! splits it, or merges it with a sibling, or drops it when empty.
//!
//! Invariants: keys within a leaf ascend strictly by `cmp`; a node's `maxKey` is its last key;
//! all leaves are at one depth; no node but the root is empty; leaves hold at most `leafMax`
//! keys and branches at most `branchMax` children.
import { assert } from '../util/assert.ts';

export type Compare = (a: number, b: number) => number;
/** Compares a sought position with a key: negative when the position is before the key. */
export type Probe = (key: number) => number;

export interface Shape {
  readonly leafMax: number;
  readonly branchMax: number;
}

/** 64 keys per leaf, 32 children per branch: small copies per transaction (measured: bench/write.bench.ts). */
export const defaultShape: Shape = { leafMax: 64, branchMax: 32 };

/** Keys live in plain arrays of small ints: V8 stores them unboxed (8 bytes each on 64-bit Node) on its heap. */
export type Keys = readonly number[];

export class Leaf {
  readonly keys: Keys;
  readonly size: number;
  readonly maxKey: number;
  constructor(keys: Keys) {
    this.keys = keys;
    this.size = keys.length;
    this.maxKey = keys.length === 0 ? -1 : keys[keys.length - 1]!;
  }
}

export class Branch {
  readonly children: readonly Node[];
  readonly size: number;
  readonly maxKey: number;
  /** `size` may be given when the caller already knows it (a patched copy). */
  constructor(children: readonly Node[], size = -1) {
    assert(children.length > 0, 'a branch has children');
    this.children = children;
    if (size < 0) {
      size = 0;
      for (let i = 0; i < children.length; i++) size += children[i]!.size;
    }
    this.size = size;
    this.maxKey = children[children.length - 1]!.maxKey;
  }
}

export type Node = Leaf | Branch;

export const emptyTree: Node = new Leaf([]);

/** Builds a tree from keys already sorted by the caller's comparator. */
export function fromSorted(keys: Keys, shape: Shape = defaultShape): Node {
  if (keys.length === 0) return emptyTree;
  let level: Node[] = [];
  for (let i = 0; i < keys.length; i += shape.leafMax) {
    level.push(new Leaf(keys.slice(i, Math.min(keys.length, i + shape.leafMax))));
  }
  while (level.length > 1) level = groupIntoBranches(level, shape);
  return level[0]!;
}

/** Splits `nodes` evenly into branches of at most `branchMax` children. */
function groupIntoBranches(nodes: readonly Node[], shape: Shape): Node[] {
  if (nodes.length <= shape.branchMax) return [new Branch(nodes)];
  const count = Math.ceil(nodes.length / shape.branchMax);
  const out: Node[] = [];
  for (let i = 0; i < count; i++) {
    out.push(new Branch(nodes.slice(Math.floor((i * nodes.length) / count), Math.floor(((i + 1) * nodes.length) / count))));
  }
  return out;
}

function splitLeaf(keys: Keys, shape: Shape): Node[] {
  if (keys.length <= shape.leafMax) return [new Leaf(keys)];
  const count = Math.ceil(keys.length / shape.leafMax);
  const out: Node[] = [];
  for (let i = 0; i < count; i++) {
    out.push(new Leaf(keys.slice(Math.floor((i * keys.length) / count), Math.floor(((i + 1) * keys.length) / count))));
  }
  return out;
}

/** Updates build nodes that may hold too many keys or children; their parent splits them. */
function isOverfull(node: Node, shape: Shape): boolean {
  return node instanceof Leaf ? node.size > shape.leafMax : node.children.length > shape.branchMax;
}

/** Splits an overfull node into siblings of the same height (a node that fits stays whole). */
function split(node: Node, shape: Shape): Node[] {
  return node instanceof Leaf ? splitLeaf(node.keys, shape) : groupIntoBranches(node.children, shape);
}

/** The child (at or after `from`) whose range holds `key`: the first with maxKey >= key, else the last. */
function childFor(children: readonly Node[], from: number, key: number, cmp: Compare): number {
  let lo = from;
  let hi = children.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmp(children[mid]!.maxKey, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index in keys[from, to) whose key is greater than `bound`, or `to`. */
function upperIndex(keys: Keys, from: number, to: number, bound: number, cmp: Compare): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmp(keys[mid]!, bound) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Returns the root after inserting `keys` (sorted by `cmp`, none already present). */
export function insertSorted(root: Node, keys: Keys, cmp: Compare, shape: Shape = defaultShape): Node {
  if (keys.length === 0) return root;
  // A batch at least as large as the tree: one linear merge and a bulk build beat k descents.
  if (keys.length >= root.size) return fromSorted(root.size === 0 ? keys : mergeAll(toArray(root), keys, cmp), shape);
  const top = insertInto(root, keys, 0, keys.length, cmp, shape);
  if (!isOverfull(top, shape)) return top;
  let level = split(top, shape);
  while (level.length > 1) level = groupIntoBranches(level, shape);
  return level[0]!;
}

/**
 * Inserts keys[from, to) under `node`: copies the node once and patches the children that change
 * (path copying). The result may be overfull; the caller splits it.
 */
function insertInto(node: Node, keys: Keys, from: number, to: number, cmp: Compare, shape: Shape): Node {
  if (node instanceof Leaf) return new Leaf(mergeKeys(node.keys, keys, from, to, cmp));
  const routes = node.children;
  const last = routes.length - 1;
  const children = routes.slice();
  let overfull = false;
  let i = from;
  let c = 0;
  while (i < to) {
    // Jump to the child that receives keys[i]; children before it stay shared.
    c = childFor(routes, c, keys[i]!, cmp);
    const j = c === last ? to : upperIndex(keys, i, to, routes[c]!.maxKey, cmp);
    const child = insertInto(children[c]!, keys, i, j, cmp, shape);
    children[c] = child;
    if (isOverfull(child, shape)) overfull = true;
    c++;
    i = j;
  }
  if (!overfull) return new Branch(children, node.size + (to - from));
  const pieces: Node[] = [];
  for (const child of children) {
    if (isOverfull(child, shape)) pieces.push(...split(child, shape));
    else pieces.push(child);
  }
  return new Branch(pieces);
}

/** Merges by binary search and block copies: O(k log n) comparisons for k keys into n. */
function mergeKeys(existing: Keys, keys: Keys, from: number, to: number, cmp: Compare): Keys {
  if (to - from === 1) return existing.toSpliced(insertionPoint(existing, 0, keys[from]!, cmp), 0, keys[from]!);
  const out = new Array<number>(existing.length + (to - from));
  let a = 0;
  let o = 0;
  for (let b = from; b < to; b++) {
    const key = keys[b]!;
    const at = insertionPoint(existing, a, key, cmp);
    while (a < at) out[o++] = existing[a++]!;
    out[o++] = key;
  }
  while (a < existing.length) out[o++] = existing[a++]!;
  return out;
}

/** First index at or after `from` whose key is greater than `key`; equal keys are a bug. */
function insertionPoint(existing: Keys, from: number, key: number, cmp: Compare): number {
  let lo = from;
  let hi = existing.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = cmp(existing[mid]!, key);
    if (c === 0) assert(false, 'insertSorted: key already present');
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Merges two sorted key arrays with no key in common. */
function mergeAll(a: Keys, b: Keys, cmp: Compare): number[] {
  const out = new Array<number>(a.length + b.length);
  let i = 0;
  let j = 0;
  let o = 0;
  while (i < a.length && j < b.length) {
    const c = cmp(a[i]!, b[j]!);
    assert(c !== 0, 'insertSorted: key already present');
    out[o++] = c < 0 ? a[i++]! : b[j++]!;
  }
  while (i < a.length) out[o++] = a[i++]!;
  while (j < b.length) out[o++] = b[j++]!;
  return out;
}

/**
 * Returns the tree without the keys `drop` marks and with `keys` (sorted by `cmp`, none already
 * present) merged in, rebuilt in one linear pass. The removed keys need no sorting and no search,
 * which beats `removeSorted` when they are a large share of the tree (their leaves are all
 * touched anyway); `dropped` must be how many keys `drop` marks, as a check.
 */
export function rebuilt(root: Node, drop: (key: number) => boolean, dropped: number, keys: Keys, cmp: Compare, shape: Shape = defaultShape): Node {
  const kept: number[] = [];
  const cursor = new Cursor(root, null);
  for (let k = cursor.next(); k !== -1; k = cursor.next()) if (!drop(k)) kept.push(k);
  assert(kept.length === root.size - dropped, 'rebuilt: a key to drop is not in the tree');
  return fromSorted(keys.length === 0 ? kept : mergeAll(kept, keys, cmp), shape);
}

/** Returns the root after removing `keys` (sorted by `cmp`, all present). */
export function removeSorted(root: Node, keys: Keys, cmp: Compare, shape: Shape = defaultShape): Node {
  if (keys.length === 0) return root;
  let top = removeFrom(root, keys, 0, keys.length, cmp, shape);
  if (top.size === 0) return emptyTree;
  while (top instanceof Branch && top.children.length === 1) top = top.children[0]!;
  return top;
}

/** Removing leaves nodes that may be small (or empty); their parent merges or drops them. */
function isUnderfull(node: Node, shape: Shape): boolean {
  if (node.size === 0) return true;
  return node instanceof Leaf ? node.size < shape.leafMax >> 2 : node.children.length < shape.branchMax >> 2;
}

/** Removes keys[from, to) under `node` by path copying; the result may be small or empty. */
function removeFrom(node: Node, keys: Keys, from: number, to: number, cmp: Compare, shape: Shape): Node {
  if (node instanceof Leaf) return new Leaf(withoutKeys(node.keys, keys, from, to));
  const routes = node.children;
  const last = routes.length - 1;
  const children = routes.slice();
  let underfull = false;
  let i = from;
  let c = 0;
  while (i < to) {
    c = childFor(routes, c, keys[i]!, cmp);
    const j = c === last ? to : upperIndex(keys, i, to, routes[c]!.maxKey, cmp);
    const child = removeFrom(children[c]!, keys, i, j, cmp, shape);
    children[c] = child;
    if (isUnderfull(child, shape)) underfull = true;
    c++;
    i = j;
  }
  if (!underfull) return new Branch(children, node.size - (to - from));
  // Only a child next to a shrunk one may merge; empty children are dropped.
  const out: Node[] = [];
  for (const child of children) if (child.size > 0) appendMerging(out, child, shape);
  return out.length === 0 ? emptyTree : new Branch(out);
}

/** Appends `node`, merging it into the previous sibling when either has become small. */
function appendMerging(out: Node[], node: Node, shape: Shape): void {
  const previous = out[out.length - 1];
  if (previous instanceof Leaf && node instanceof Leaf) {
    const small = shape.leafMax >> 2;
    if ((previous.size < small || node.size < small) && previous.size + node.size <= shape.leafMax) {
      out[out.length - 1] = new Leaf(previous.keys.concat(node.keys));
      return;
    }
  } else if (previous instanceof Branch && node instanceof Branch) {
    const small = shape.branchMax >> 2;
    const total = previous.children.length + node.children.length;
    if ((previous.children.length < small || node.children.length < small) && total <= shape.branchMax) {
      out[out.length - 1] = new Branch([...previous.children, ...node.children]);
      return;
    }
  }
  out.push(node);
}

/** Keys are unique ints, so a removed key is found by identity: a scan of a small leaf beats compares. */
function withoutKeys(existing: Keys, keys: Keys, from: number, to: number): Keys {
  assert(to - from <= existing.length, 'removeSorted: key not present');
  if (to - from === 1) {
    const at = existing.indexOf(keys[from]!);
    assert(at !== -1, 'removeSorted: key not present');
    return existing.toSpliced(at, 1);
  }
  const out = new Array<number>(existing.length - (to - from));
  let a = 0;
  let o = 0;
  for (let b = from; b < to; b++) {
    // Keys come in the leaf's order, so each is found after the previous one.
    const at = existing.indexOf(keys[b]!, a);
    assert(at !== -1, 'removeSorted: key not present');
    while (a < at) out[o++] = existing[a++]!;
    a = at + 1;
  }
  while (a < existing.length) out[o++] = existing[a++]!;
  return out;
}

/** The number of keys before the sought position (keys `k` with `probe(k) > 0`). */
export function rank(root: Node, probe: Probe): number {
  let node = root;
  let before = 0;
  while (node instanceof Branch) {
    const c = firstChildAtOrAfter(node.children, probe);
    if (c === node.children.length) return before + node.size;
    for (let i = 0; i < c; i++) before += node.children[i]!.size;
    node = node.children[c]!;
  }
  return before + firstAtOrAfter(node.keys, node.keys.length, probe);
}

/** First index i < length with probe(keys[i]) <= 0, or length. */
function firstAtOrAfter(keys: Keys, length: number, probe: Probe): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (probe(keys[mid]!) > 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First child i with probe(children[i].maxKey) <= 0, or children.length. */
function firstChildAtOrAfter(children: readonly Node[], probe: Probe): number {
  let lo = 0;
  let hi = children.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (probe(children[mid]!.maxKey) > 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Walks keys in order from a position. `next()` returns the next key, or -1 at the end. Holds the
 * path from the root, so stepping to the next leaf is amortised O(1).
 */
export class Cursor {
  private readonly branches: Branch[] = [];
  private readonly positions: number[] = [];
  private leaf: Keys;
  private index: number;

  constructor(root: Node, probe: Probe | null) {
    let node = root;
    while (node instanceof Branch) {
      let c = probe === null ? 0 : firstChildAtOrAfter(node.children, probe);
      if (c === node.children.length) c = node.children.length - 1; // past the end: land on the last leaf's end
      this.branches.push(node);
      this.positions.push(c);
      node = node.children[c]!;
    }
    this.leaf = node.keys;
    this.index = probe === null ? 0 : firstAtOrAfter(node.keys, node.keys.length, probe);
  }

  next(): number {
    if (this.index < this.leaf.length) return this.leaf[this.index++]!;
    if (!this.advanceLeaf()) return -1;
    return this.leaf[this.index++]!;
  }

  /** The key `next()` would return, without moving; -1 at the end. */
  peek(): number {
    if (this.index < this.leaf.length) return this.leaf[this.index]!;
    if (!this.advanceLeaf()) return -1;
    return this.leaf[this.index]!;
  }

  private advanceLeaf(): boolean {
    let depth = this.branches.length - 1;
    while (depth >= 0 && this.positions[depth]! >= this.branches[depth]!.children.length - 1) depth--;
    if (depth < 0) return false;
    this.positions[depth]!++;
    let node = this.branches[depth]!.children[this.positions[depth]!]!;
    for (let d = depth + 1; d < this.branches.length; d++) {
      this.branches[d] = node as Branch;
      this.positions[d] = 0;
      node = (node as Branch).children[0]!;
    }
    this.leaf = (node as Leaf).keys;
    this.index = 0;
    return true;
  }
}

/** Every key in order (for tests and bulk rebuilds). */
export function toArray(root: Node): number[] {
  const out: number[] = [];
  const cursor = new Cursor(root, null);
  for (let k = cursor.next(); k !== -1; k = cursor.next()) out.push(k);
  return out;
}

/** Checks the invariants of the header; for tests. */
export function checkTree(root: Node, cmp: Compare, shape: Shape = defaultShape): void {
  const depths = new Set<number>();
  const walk = (node: Node, depth: number, isRoot: boolean): void => {
    assert(isRoot || node.size > 0, 'only the root may be empty');
    if (node instanceof Leaf) {
      depths.add(depth);
      assert(node.size <= shape.leafMax, 'leaf too large');
      for (let i = 1; i < node.keys.length; i++) assert(cmp(node.keys[i - 1]!, node.keys[i]!) < 0, 'leaf out of order');
      return;
    }
    assert(node.children.length <= shape.branchMax, 'branch too large');
    node.children.forEach((child, i) => {
      if (i > 0) assert(cmp(node.children[i - 1]!.maxKey, child.maxKey) < 0, 'children out of order');
      walk(child, depth + 1, false);
    });
  };
  walk(root, 0, true);
  assert(depths.size <= 1, 'leaves at different depths');
}

/** The key at position `index` (0-based) in order; -1 when out of range. */
export function keyAt(root: Node, index: number): number {
  if (index < 0 || index >= root.size) return -1;
  let node = root;
  let i = index;
  while (node instanceof Branch) {
    let c = 0;
    while (i >= node.children[c]!.size) i -= node.children[c++]!.size;
    node = node.children[c]!;
  }
  return node.keys[i]!;
}
