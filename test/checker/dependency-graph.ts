//! The dependency graph of a history's transactions, and the cycle searches Adya's anomalies need.
//!
//! Nodes are transactions (0..n-1). An edge T1 → T2 says T1 must come before T2 in any serial
//! order: ww (T2 overwrote T1's version: here, appended right after it), wr (T2 read what T1
//! wrote), rw (T1 read a version T2 replaced: an anti-dependency), and the order edges a
//! consistency model adds: realtime (T1 completed before T2 began) and process (T1 came before
//! T2 in one client session). A history is serializable under the chosen edges iff the graph has
//! no cycle.
//!
//! Cycles are searched for per strongly connected component (Tarjan's algorithm, iterative so a
//! long chain cannot overflow the stack), with edges limited to a set of kinds; a breadth-first
//! search then gives a shortest cycle, which is what a reader wants to see in a report.
//! Invariants: no self edge (a transaction never depends on itself); edges are unique per
//! (from, to, kind), the first reason kept.
import { AssertionError } from '../../nodes/util/assert.ts';

export type EdgeKind = 'ww' | 'wr' | 'rw' | 'realtime' | 'process';

export interface Edge {
  readonly from: number;
  readonly to: number;
  readonly kind: EdgeKind;
  /** The key whose versions show a data edge. */
  readonly key?: string;
  /** The element that shows it: the one read (wr) or appended after the other (ww, rw). */
  readonly value?: number;
  /** ww: the element just before `value`; rw: the last element read (undefined if the read was empty). */
  readonly previous?: number;
}

export class DependencyGraph {
  private readonly outgoing: Edge[][];
  private readonly seen = new Set<string>();

  constructor(readonly nodeCount: number) {
    this.outgoing = Array.from({ length: nodeCount }, () => []);
  }

  add(edge: Edge): void {
    if (edge.from === edge.to) throw new AssertionError(`A self edge on transaction ${edge.from} (${edge.kind}): the caller must leave those out.`);
    const id = `${edge.from} ${edge.to} ${edge.kind}`;
    if (this.seen.has(id)) return;
    this.seen.add(id);
    this.outgoing[edge.from]!.push(edge);
  }

  edges(node: number): readonly Edge[] {
    return this.outgoing[node]!;
  }

  edgeCount(): Record<EdgeKind, number> {
    const count: Record<EdgeKind, number> = { ww: 0, wr: 0, rw: 0, realtime: 0, process: 0 };
    for (const list of this.outgoing) for (const edge of list) count[edge.kind] += 1;
    return count;
  }

  /**
   * The strongly connected components of more than one node, over edges of the allowed kinds
   * between nodes of `within` (every node if absent).
   */
  components(allowed: ReadonlySet<EdgeKind>, within?: ReadonlySet<number>): number[][] {
    const inside = (n: number) => within === undefined || within.has(n);
    const index = new Map<number, number>();
    const low = new Map<number, number>();
    const onStack = new Set<number>();
    const stack: number[] = [];
    const found: number[][] = [];
    let counter = 0;
    const roots = within === undefined ? Array.from({ length: this.nodeCount }, (_, i) => i) : [...within];
    for (const root of roots) {
      if (index.has(root)) continue;
      // Each frame is a node and how many of its edges were looked at already.
      const frames: Array<{ node: number; next: number }> = [{ node: root, next: 0 }];
      index.set(root, counter);
      low.set(root, counter++);
      stack.push(root);
      onStack.add(root);
      while (frames.length > 0) {
        const frame = frames[frames.length - 1]!;
        const out = this.outgoing[frame.node]!;
        if (frame.next < out.length) {
          const edge = out[frame.next++]!;
          if (!allowed.has(edge.kind) || !inside(edge.to)) continue;
          if (!index.has(edge.to)) {
            index.set(edge.to, counter);
            low.set(edge.to, counter++);
            stack.push(edge.to);
            onStack.add(edge.to);
            frames.push({ node: edge.to, next: 0 });
          } else if (onStack.has(edge.to)) {
            low.set(frame.node, Math.min(low.get(frame.node)!, index.get(edge.to)!));
          }
          continue;
        }
        frames.pop();
        const parent = frames[frames.length - 1];
        if (parent !== undefined) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
        if (low.get(frame.node) !== index.get(frame.node)) continue;
        const component: number[] = [];
        let member: number;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        if (component.length > 1) found.push(component.sort((a, b) => a - b));
      }
    }
    return found;
  }

  /**
   * A shortest path of allowed edges from `source` to `target` inside `within`, or null; with
   * `target === source`, a shortest cycle through `source`.
   */
  shortestPath(source: number, target: number, allowed: ReadonlySet<EdgeKind>, within: ReadonlySet<number>): Edge[] | null {
    const via = new Map<number, Edge>();
    const queue = [source];
    const visited = new Set([source]);
    for (let head = 0; head < queue.length; head++) {
      const node = queue[head]!;
      for (const edge of this.outgoing[node]!) {
        if (!allowed.has(edge.kind) || !within.has(edge.to)) continue;
        if (edge.to === target) return [...pathTo(via, source, node), edge];
        if (visited.has(edge.to)) continue;
        visited.add(edge.to);
        via.set(edge.to, edge);
        queue.push(edge.to);
      }
    }
    return null;
  }
}

/** The edges the search took from `source` to `node` (none when they are the same). */
function pathTo(via: ReadonlyMap<number, Edge>, source: number, node: number): Edge[] {
  const path: Edge[] = [];
  for (let at = node; at !== source; ) {
    const edge = via.get(at)!;
    path.push(edge);
    at = edge.from;
  }
  return path.reverse();
}
