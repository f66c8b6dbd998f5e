//! Classifies the cycles of a dependency graph as Adya's anomalies, as Elle does, and explains
//! each with the transactions that form it.
//!
//! For each strongly connected component, the most specific cycle is looked for first:
//!   G0        only ww edges (dirty write)
//!   G1c       ww and wr edges, at least one wr (circular information flow)
//!   G-single  exactly one rw edge (read skew: one anti-dependency)
//!   G2        two or more rw edges (write skew and other anti-dependency cycles)
//! first with data edges alone, then (when the consistency model has them) with the order edges
//! too: a cycle that needs a realtime or process edge breaks strict serializability or session
//! order, not serializability, and says so (`order`). One anomaly is reported per component.
import { AssertionError } from '../../nodes/util/assert.ts';
import type { DependencyGraph, Edge, EdgeKind } from './dependency-graph.ts';
import { formatOp, type Transaction } from './history.ts';

export type CycleKind = 'G0' | 'G1c' | 'G-single' | 'G2';

export interface Cycle {
  readonly kind: CycleKind;
  /** The order edge kind the cycle needs, or null when data dependencies alone make it. */
  readonly order: 'realtime' | 'process' | null;
  readonly edges: readonly Edge[];
}

/** Tries of one rw edge each for G-single in a component; beyond this, G2 is reported instead. */
const SINGLE_RW_TRIES_MAX = 2000;

/** The most specific cycle of one strongly connected component. */
export function classifyComponent(graph: DependencyGraph, component: readonly number[], order: 'realtime' | 'process' | null): Cycle {
  const within = new Set(component);
  const passes: Array<'realtime' | 'process' | null> = order === null ? [null] : [null, order];
  for (const pass of passes) {
    const extra: EdgeKind[] = pass === null ? [] : [pass];
    const ww = new Set<EdgeKind>(['ww', ...extra]);
    const wr = new Set<EdgeKind>(['ww', 'wr', ...extra]);
    const all = new Set<EdgeKind>(['ww', 'wr', 'rw', ...extra]);
    const g0 = anyCycle(graph, ww, within);
    if (g0 !== null) return { kind: 'G0', order: pass, edges: g0 };
    const g1c = anyCycle(graph, wr, within);
    if (g1c !== null) return { kind: 'G1c', order: pass, edges: g1c };
    const single = singleRwCycle(graph, wr, within);
    if (single !== null) return { kind: 'G-single', order: pass, edges: single };
    const g2 = anyCycle(graph, all, within);
    if (g2 !== null) return { kind: 'G2', order: pass, edges: g2 };
  }
  throw new AssertionError(`A strongly connected component [${component.join(' ')}] without a cycle: the component search is wrong.`);
}

/** A shortest cycle through some node of the first component of the allowed edges, or null. */
function anyCycle(graph: DependencyGraph, allowed: ReadonlySet<EdgeKind>, within: ReadonlySet<number>): Edge[] | null {
  const [component] = graph.components(allowed, within);
  if (component === undefined) return null;
  const members = new Set(component);
  // A few starting points, for a shorter cycle in a large component; any member lies on one.
  let best: Edge[] | null = null;
  for (const start of component.slice(0, 8)) {
    const cycle = graph.shortestPath(start, start, allowed, members);
    if (cycle !== null && (best === null || cycle.length < best.length)) best = cycle;
  }
  return best;
}

/** A shortest cycle of one rw edge closed by a path of `others`, or null. */
function singleRwCycle(graph: DependencyGraph, others: ReadonlySet<EdgeKind>, within: ReadonlySet<number>): Edge[] | null {
  let best: Edge[] | null = null;
  let tries = 0;
  for (const node of within) {
    for (const edge of graph.edges(node)) {
      if (edge.kind !== 'rw' || !within.has(edge.to)) continue;
      if (++tries > SINGLE_RW_TRIES_MAX) return best;
      const back = graph.shortestPath(edge.to, edge.from, others, within);
      if (back !== null && (best === null || back.length + 1 < best.length)) best = [edge, ...back];
      if (best?.length === 2) return best;
    }
  }
  return best;
}

const meaning: Record<CycleKind, string> = {
  G0: 'a cycle of write dependencies alone (dirty write)',
  G1c: 'a cycle of write and read dependencies (circular information flow)',
  'G-single': 'a cycle with exactly one anti-dependency (read skew)',
  G2: 'a cycle with two or more anti-dependencies (write skew)',
};

/** The cycle in words: each transaction, then why each one must precede the next. */
export function explainCycle(cycle: Cycle, transactionOf: (node: number) => Transaction): string {
  const names = new Map<number, string>();
  for (const edge of cycle.edges) if (!names.has(edge.from)) names.set(edge.from, `T${names.size + 1}`);
  const name = (node: number) => names.get(node)!;
  const needs = cycle.order === null ? '' : ` (it needs ${cycle.order} order: ${cycle.order === 'realtime' ? 'not strict serializable' : 'not session serializable'})`;
  const lines = [`${cycle.kind}: ${meaning[cycle.kind]}${needs}`];
  for (const [node, label] of names) {
    const { invoke, completion } = transactionOf(node);
    lines.push(`  ${label} = ${formatOp(completion ?? invoke)}`);
  }
  for (const edge of cycle.edges) lines.push(`  ${name(edge.from)} -${edge.kind}-> ${name(edge.to)}: ${because(edge, name, transactionOf)}`);
  lines.push(`  so ${name(cycle.edges[0]!.from)} would have to precede itself: no order of these transactions explains what they saw.`);
  return lines.join('\n');
}

function because(edge: Edge, name: (node: number) => string, transactionOf: (node: number) => Transaction): string {
  const [from, to] = [name(edge.from), name(edge.to)];
  switch (edge.kind) {
    case 'ww':
      return `on ${edge.key}, ${to}'s append of ${edge.value} comes right after ${from}'s ${edge.previous}`;
    case 'wr':
      return `${to} read ${edge.key} ending in ${edge.value}, which ${from} appended`;
    case 'rw':
      return `${from} read ${edge.key} ${edge.previous === undefined ? 'as empty' : `ending in ${edge.previous}`}, and ${to}'s append of ${edge.value} comes next`;
    case 'realtime':
      return `${from} completed (#${transactionOf(edge.from).completion?.index}) before ${to} was invoked (#${transactionOf(edge.to).invoke.index})`;
    case 'process':
      return `${from} came before ${to} in process ${transactionOf(edge.to).invoke.process}`;
  }
}
