//! A persistent B+tree of int keys, ordered by a comparator the caller supplies on every call.
//!
//! The tree knows nothing about datoms: a key is a non-negative int (for the memory index, a row
//! of the datom table) and order comes from `cmp(a, b)`. Nodes are never modified after they are
//! built; every update returns a new root that shares all untouched subtrees with the old one, so
//! any number of db values can hold their own roots at once.
//!
//!            Branch [maxKeys: 17 | 42 | 90]  size = 9
//!           /             |              \
//!   Leaf [3 9 17]   Leaf [20 31 42]   Leaf [55 61 90]
//!
//! A branch keeps the largest key of each child (to route searches) and its own total size (so a
//! range count is two descents). Updates come in sorted batches: `insertSorted` and
//! `removeSorted` walk the tree once per batch and rebuild only the nodes on the paths they touch.
//!
//! Invariants: keys within a leaf ascend strictly by `cmp`; `maxKeys[i]` is the last key of child
//! i; all leaves are at one depth; no node but the root is empty; leaves hold at most `leafMax`
//! keys and branches at most `branchMax` children.
import { assert } from '../util/assert.ts';

export type Compare = (a: number, b: number) => number;
/** Compares a sought position with a key: negative when the position is before the key. */
export type Probe = (key: number) => number;

export interface Shape {
  readonly leafMax: number;
  readonly branchMax: number;
}

/** 256 keys (1 KiB) per leaf and 64 children per branch: a one-datom transaction copies ~1.5 KiB. */
export const defaultShape: Shape = { leafMax: 256, branchMax: 64 };

export class Leaf {
  readonly keys: Int32Array;
  constructor(keys: Int32Array) {
    this.keys = keys;
  }
  get size(): number {
    return this.keys.length;
  }
  get maxKey(): number {
    return this.keys[this.keys.length - 1]!;
  }
}

export class Branch {
  readonly children: readonly Node[];
  readonly maxKeys: Int32Array;
  readonly size: number;
  constructor(children: readonly Node[]) {
    assert(children.length > 0, 'a branch has children');
    this.children = children;
    this.maxKeys = new Int32Array(children.length);
    let size = 0;
    for (let i = 0; i < children.length; i++) {
      const child = children[i]!;
      this.maxKeys[i] = child.maxKey;
      size += child.size;
    }
    this.size = size;
  }
  get maxKey(): number {
    return this.maxKeys[this.maxKeys.length - 1]!;
  }
}

export type Node = Leaf | Branch;

export const emptyTree: Node = new Leaf(new Int32Array(0));

/** Builds a tree from keys already sorted by the caller's comparator. */
export function fromSorted(keys: Int32Array, shape: Shape = defaultShape): Node {
  if (keys.length === 0) return emptyTree;
  let level: Node[] = [];
  for (let i = 0; i < keys.length; i += shape.leafMax) {
    level.push(new Leaf(keys.slice(i, Math.min(keys.length, i + shape.leafMax))));
  }
  while (level.length > 1) level = groupIntoBranches(level, shape);
  return level[0]!;
}

/** Splits `nodes` evenly into branches of at most `branchMax` children. */
function groupIntoBranches(nodes: Node[], shape: Shape): Node[] {
  if (nodes.length <= shape.branchMax) return [new Branch(nodes)];
  const count = Math.ceil(nodes.length / shape.branchMax);
  const out: Node[] = [];
  for (let i = 0; i < count; i++) {
    out.push(new Branch(nodes.slice(Math.floor((i * nodes.length) / count), Math.floor(((i + 1) * nodes.length) / count))));
  }
  return out;
}

function splitLeaf(keys: Int32Array, shape: Shape): Node[] {
  if (keys.length <= shape.leafMax) return [new Leaf(keys)];
  const count = Math.ceil(keys.length / shape.leafMax);
  const out: Node[] = [];
  for (let i = 0; i < count; i++) {
    out.push(new Leaf(keys.subarray(Math.floor((i * keys.length) / count), Math.floor(((i + 1) * keys.length) / count))));
  }
  return out;
}

/** First index in keys[from, to) whose key is greater than `bound`, or `to`. */
function upperIndex(keys: Int32Array, from: number, to: number, bound: number, cmp: Compare): number {
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
export function insertSorted(root: Node, keys: Int32Array, cmp: Compare, shape: Shape = defaultShape): Node {
  if (keys.length === 0) return root;
  let level = insertInto(root, keys, 0, keys.length, cmp, shape);
  while (level.length > 1) level = groupIntoBranches(level, shape);
  return level[0]!;
}

function insertInto(node: Node, keys: Int32Array, from: number, to: number, cmp: Compare, shape: Shape): Node[] {
  if (node instanceof Leaf) return splitLeaf(mergeKeys(node.keys, keys, from, to, cmp), shape);
  const children = node.children;
  const out: Node[] = [];
  let i = from;
  for (let c = 0; c < children.length; c++) {
    const j = c === children.length - 1 ? to : upperIndex(keys, i, to, node.maxKeys[c]!, cmp);
    if (j > i) {
      for (const n of insertInto(children[c]!, keys, i, j, cmp, shape)) out.push(n);
    } else {
      out.push(children[c]!);
    }
    i = j;
  }
  return groupIntoBranches(out, shape);
}

function mergeKeys(existing: Int32Array, keys: Int32Array, from: number, to: number, cmp: Compare): Int32Array {
  const out = new Int32Array(existing.length + (to - from));
  let a = 0;
  let b = from;
  let o = 0;
  while (a < existing.length && b < to) {
    const c = cmp(existing[a]!, keys[b]!);
    assert(c !== 0, 'insertSorted: key already present');
    out[o++] = c < 0 ? existing[a++]! : keys[b++]!;
  }
  while (a < existing.length) out[o++] = existing[a++]!;
  while (b < to) out[o++] = keys[b++]!;
  return out;
}

/** Returns the root after removing `keys` (sorted by `cmp`, all present). */
export function removeSorted(root: Node, keys: Int32Array, cmp: Compare, shape: Shape = defaultShape): Node {
  if (keys.length === 0) return root;
  const level = removeFrom(root, keys, 0, keys.length, cmp, shape);
  if (level.length === 0) return emptyTree;
  let top: Node = level.length === 1 ? level[0]! : new Branch(level);
  while (top instanceof Branch && top.children.length === 1) top = top.children[0]!;
  return top;
}

function removeFrom(node: Node, keys: Int32Array, from: number, to: number, cmp: Compare, shape: Shape): Node[] {
  if (node instanceof Leaf) {
    const kept = withoutKeys(node.keys, keys, from, to, cmp);
    return kept.length === 0 ? [] : [new Leaf(kept)];
  }
  const children = node.children;
  const out: Node[] = [];
  let i = from;
  for (let c = 0; c < children.length; c++) {
    const j = c === children.length - 1 ? to : upperIndex(keys, i, to, node.maxKeys[c]!, cmp);
    if (j > i) {
      for (const n of removeFrom(children[c]!, keys, i, j, cmp, shape)) appendMerging(out, n, shape);
    } else {
      appendMerging(out, children[c]!, shape);
    }
    i = j;
  }
  return out.length === 0 ? [] : groupIntoBranches(out, shape);
}

/** Appends `node`, merging it into the previous sibling when either has become small. */
function appendMerging(out: Node[], node: Node, shape: Shape): void {
  const previous = out[out.length - 1];
  if (previous instanceof Leaf && node instanceof Leaf) {
    const small = shape.leafMax >> 2;
    if ((previous.size < small || node.size < small) && previous.size + node.size <= shape.leafMax) {
      const keys = new Int32Array(previous.size + node.size);
      keys.set(previous.keys, 0);
      keys.set(node.keys, previous.size);
      out[out.length - 1] = new Leaf(keys);
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

function withoutKeys(existing: Int32Array, keys: Int32Array, from: number, to: number, cmp: Compare): Int32Array {
  const out = new Int32Array(existing.length - (to - from));
  let b = from;
  let o = 0;
  for (let a = 0; a < existing.length; a++) {
    const key = existing[a]!;
    if (b < to && key === keys[b]) {
      b++;
      continue;
    }
    assert(b >= to || cmp(key, keys[b]!) < 0, 'removeSorted: key not present');
    out[o++] = key;
  }
  assert(b === to && o === out.length, 'removeSorted: key not present');
  return out;
}

/** The number of keys before the sought position (keys `k` with `probe(k) > 0`). */
export function rank(root: Node, probe: Probe): number {
  let node = root;
  let before = 0;
  while (node instanceof Branch) {
    const c = firstAtOrAfter(node.maxKeys, node.maxKeys.length, probe);
    if (c === node.maxKeys.length) return before + node.size;
    for (let i = 0; i < c; i++) before += node.children[i]!.size;
    node = node.children[c]!;
  }
  return before + firstAtOrAfter(node.keys, node.keys.length, probe);
}

/** First index i < length with probe(keys[i]) <= 0, or length. */
function firstAtOrAfter(keys: Int32Array, length: number, probe: Probe): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (probe(keys[mid]!) > 0) lo = mid + 1;
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
  private leaf: Int32Array;
  private index: number;

  constructor(root: Node, probe: Probe | null) {
    let node = root;
    while (node instanceof Branch) {
      let c = probe === null ? 0 : firstAtOrAfter(node.maxKeys, node.maxKeys.length, probe);
      if (c === node.maxKeys.length) c = node.maxKeys.length - 1; // past the end: land on the last leaf's end
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
      assert(node.maxKeys[i] === child.maxKey, 'maxKeys out of date');
      if (i > 0) assert(cmp(node.maxKeys[i - 1]!, node.maxKeys[i]!) < 0, 'children out of order');
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
