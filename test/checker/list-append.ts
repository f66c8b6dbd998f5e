//! Checks a list-append history for anomalies, in the manner of Jepsen's Elle.
//!
//! Every appended value is unique per key, so a read's list names the transaction behind each
//! of its elements, and the longest read of a key gives that key's version order (every other
//! read must be a prefix of it). From the version orders come the dependency edges between
//! transactions (dependency-graph.ts), and from their cycles Adya's anomalies (cycles.ts):
//!
//!   key x, longest read [1 2 3]:  T(1) -ww-> T(2) -ww-> T(3)     appends in version order
//!   a read of x as [1 2] by R:    T(2) -wr-> R   and   R -rw-> T(3)   R saw 2, missed 3
//!
//! Checked per transaction, without the graph: internal (reads that disagree with the same
//! transaction's other micro-ops), G1a (a failed transaction's append read), G1b (a read ending
//! in an append its transaction followed with another to the same key), duplicate-append,
//! garbage-read (a value nobody appended), incompatible-order (two reads of a key, neither a
//! prefix of the other), lost-update (two committed transactions that read the same version of a
//! key and both appended to it), lost-append (an acknowledged append missing from a read that
//! real-time or session order says must see it), and with `checkT` t-order (a transaction's
//! factum t on the wrong side of one of its dependencies).
//!
//! Reads inside a transaction: factum, like Datomic, evaluates a transaction against its
//! db-before, so every read of a transaction sees the state before the transaction, never its own
//! appends (`reads: 'db-before'`, the default). Jepsen's 2024 analysis of Datomic found exactly
//! this (operations inside a transaction behave as if evaluated concurrently), which Datomic
//! documents as intended; reading it as serial would report internal anomalies that are not
//! bugs. Elle's usual semantics, where a read sees its transaction's earlier appends, is
//! `reads: 'in-order'`.
//!
//! Indeterminate transactions (`info`, or no completion): their appends may have happened, at any
//! time after their invocation, or never. They join the graph only through the values of theirs
//! that reads saw, have no known reads, and nothing is ordered after them in real time or in
//! their session. Failed transactions certainly did not happen: they join no edge.
import { DependencyGraph, type Edge, type EdgeKind } from './dependency-graph.ts';
import { classifyComponent, explainCycle, type CycleKind } from './cycles.ts';
import { formatList, formatOp, transactions, type Op, type Transaction } from './history.ts';
import { FactumError } from '../../nodes/util/errors.ts';

export type Consistency = 'serializable' | 'strict-serializable' | 'session';
export type TxnReads = 'db-before' | 'in-order';

export interface CheckOptions {
  readonly consistency: Consistency;
  /** What a read sees of its own transaction's appends. @default 'db-before' (factum's and Datomic's semantics) */
  readonly reads?: TxnReads;
  /**
   * Also check the `t` of each ok transaction against its dependencies: factum commits in t
   * order, so a transaction's t must follow the t of every transaction it read from or came
   * after (ww, rw: strictly; wr, realtime, process: a read-only transaction's t may be the basis
   * it read at, equal to its writer's). A t on the wrong side is a `t-order` anomaly even where
   * some other order would explain the data. @default false
   */
  readonly checkT?: boolean;
}

export type AnomalyKind = CycleKind | 'G1a' | 'G1b' | 'lost-update' | 'internal' | 'duplicate-append' | 'lost-append' | 'incompatible-order' | 'garbage-read' | 't-order';

export interface Anomaly {
  readonly kind: AnomalyKind;
  /** What shows it, with the ops rendered: the cycle, or the reads and writes involved. */
  readonly explanation: string;
  /** The ops involved (completions; the invocation of one that has none). */
  readonly ops: readonly Op[];
  /** For G0, G1c, G-single and G2: the cycle's edges; `from` and `to` number transactions in the order of their invocations. */
  readonly cycle?: readonly Edge[];
  /** For cycles: the order edges the cycle needs (null: data dependencies alone). */
  readonly order?: 'realtime' | 'process' | null;
}

export interface CheckStats {
  readonly ok: number;
  readonly fail: number;
  /** Info and never completed. */
  readonly info: number;
  readonly keys: number;
  readonly edges: Readonly<Record<EdgeKind, number>>;
  /** Strongly connected components of more than one transaction. */
  readonly cyclicComponents: number;
}

export interface CheckResult {
  readonly valid: boolean;
  readonly anomalies: readonly Anomaly[];
  readonly stats: CheckStats;
}

/** A transaction of the history as the checker sees it. */
interface Txn extends Transaction {
  readonly node: number;
  readonly status: 'ok' | 'fail' | 'info';
  /** Appended values per key, in the transaction's order. */
  readonly appends: ReadonlyMap<string, readonly number[]>;
  /** Ok only: every read, as returned. */
  readonly reads: ReadonlyArray<{ readonly key: string; readonly value: readonly number[] }>;
  /** Ok only: each read key's list before this transaction's own appends. */
  readonly external: Map<string, readonly number[]>;
}

/**
 * @example
 * const { valid, anomalies } = checkListAppend(history.ops, { consistency: 'strict-serializable' });
 * if (!valid) throw new Error(anomalies.map((a) => a.explanation).join('\n\n'));
 */
export function checkListAppend(history: readonly Op[], options: CheckOptions): CheckResult {
  const { consistency, reads = 'db-before', checkT = false } = options;
  if (!['serializable', 'strict-serializable', 'session'].includes(consistency) || !['db-before', 'in-order'].includes(reads)) {
    throw new FactumError('check/invalid-option', `checkListAppend takes consistency 'serializable', 'strict-serializable' or 'session' and reads 'db-before' or 'in-order'; got ${JSON.stringify(options)}.`, { consistency, reads });
  }
  const check = new ListAppendCheck(transactions(history).map(toTxn), reads);
  check.perTransaction();
  check.versionOrders();
  check.dataEdges();
  check.lostUpdates();
  if (consistency === 'strict-serializable') check.realtime();
  if (consistency === 'session') check.sessions();
  const order = consistency === 'strict-serializable' ? 'realtime' : consistency === 'session' ? 'process' : null;
  if (checkT) check.tOrder();
  const cyclicComponents = check.cycles(order);
  const { txns, anomalies } = check;
  return {
    valid: anomalies.length === 0,
    anomalies,
    stats: {
      ok: txns.filter((t) => t.status === 'ok').length,
      fail: txns.filter((t) => t.status === 'fail').length,
      info: txns.filter((t) => t.status === 'info').length,
      keys: check.keys(),
      edges: check.graph.edgeCount(),
      cyclicComponents,
    },
  };
}

function toTxn(transaction: Transaction, node: number): Txn {
  const { invoke, completion } = transaction;
  const status = completion === null ? 'info' : (completion.type as Txn['status']);
  const appends = new Map<string, number[]>();
  const reads: Array<{ key: string; value: readonly number[] }> = [];
  for (const m of (completion ?? invoke).txn) {
    if (m[0] === 'append') {
      if (!Number.isSafeInteger(m[2])) malformed(`${formatOp(invoke)} appends ${JSON.stringify(m[2])}; appended values are integers.`, invoke);
      pushTo(appends, m[1], m[2]);
    } else if (status === 'ok') {
      const value = m[2]!;
      if (!Array.isArray(value) || !value.every((v) => Number.isSafeInteger(v))) malformed(`${formatOp(completion!)} read ${m[1]} as ${JSON.stringify(value)}; a read returns a list of integers.`, completion!);
      reads.push({ key: m[1], value });
    }
  }
  return { invoke, completion, node, status, appends, reads, external: new Map() };
}

function malformed(message: string, op: Op): never {
  throw new FactumError('check/malformed-history', message, { index: op.index });
}

/** The op that shows a transaction: its completion, or its invocation if it has none. */
function shown(txn: Transaction): Op {
  return txn.completion ?? txn.invoke;
}

const list = (value: readonly number[]): string => formatList(value);

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const values = map.get(key);
  if (values === undefined) map.set(key, [value]);
  else values.push(value);
}

function isPrefix(prefix: readonly number[], of: readonly number[]): boolean {
  return prefix.length <= of.length && prefix.every((v, i) => of[i] === v);
}

class ListAppendCheck {
  readonly anomalies: Anomaly[] = [];
  readonly graph: DependencyGraph;
  /** Per key: the longest read, and the position of each of its values. */
  readonly orders = new Map<string, { readonly values: readonly number[]; readonly position: ReadonlyMap<number, number> }>();
  private readonly writers = new Map<string, Map<number, Txn>>();

  constructor(
    readonly txns: readonly Txn[],
    private readonly reads: TxnReads,
  ) {
    this.graph = new DependencyGraph(txns.length);
    for (const txn of txns) {
      for (const [key, values] of txn.appends) {
        const byValue = this.writers.get(key) ?? new Map<number, Txn>();
        this.writers.set(key, byValue);
        for (const value of values) {
          const other = byValue.get(value);
          if (other !== undefined) malformed(`${formatOp(txn.invoke)} appends ${value} to ${key}, as ${formatOp(other.invoke)} does; appended values must be unique per key.`, txn.invoke);
          byValue.set(value, txn);
        }
      }
    }
  }

  /** Keys read or appended to. */
  keys(): number {
    return new Set([...this.orders.keys(), ...this.writers.keys()]).size;
  }

  private report(kind: AnomalyKind, explanation: string, txns: readonly Transaction[]): void {
    this.anomalies.push({ kind, explanation, ops: txns.map(shown) });
  }

  private writer(key: string, value: number): Txn | undefined {
    return this.writers.get(key)?.get(value);
  }

  /** internal, duplicate-append, garbage-read, G1a, G1b: what each transaction shows alone. */
  perTransaction(): void {
    const reported = new Set<string>();
    const once = (id: string) => !reported.has(id) && (reported.add(id), true);
    for (const txn of this.txns) {
      if (txn.status !== 'ok') continue;
      this.internal(txn);
      for (const { key, value } of txn.reads) {
        const seen = new Set<number>();
        for (const v of value) {
          if (seen.has(v) && once(`duplicate ${key} ${v}`)) {
            this.report('duplicate-append', `${formatOp(shown(txn))} read ${key} as ${list(value)}: ${v} appears more than once (appended by ${this.describeWriter(key, v)}).`, [txn]);
          }
          seen.add(v);
          const writer = this.writer(key, v);
          if (writer === undefined && once(`garbage ${key} ${v}`)) {
            this.report('garbage-read', `${formatOp(shown(txn))} read ${key} as ${list(value)}, but no transaction appended ${v} to ${key}.`, [txn]);
          } else if (writer?.status === 'fail' && once(`G1a ${txn.node} ${key}`)) {
            this.report('G1a', `Aborted read: ${formatOp(shown(txn))} read ${key} as ${list(value)}, including ${v}, appended by ${formatOp(shown(writer))}, which failed.`, [txn, writer]);
          }
        }
      }
      for (const [key, value] of txn.external) {
        const last = value[value.length - 1];
        const writer = last === undefined ? undefined : this.writer(key, last);
        if (writer === undefined || writer === txn || writer.status === 'fail') continue;
        const own = writer.appends.get(key)!;
        if (own[own.length - 1] !== last) {
          this.report('G1b', `Intermediate read: ${formatOp(shown(txn))} read ${key} ending in ${last}, but ${formatOp(shown(writer))} appended ${own.slice(own.indexOf(last!) + 1).join(' ')} after it in the same transaction.`, [txn, writer]);
        }
      }
    }
  }

  private describeWriter(key: string, value: number): string {
    const writer = this.writer(key, value);
    return writer === undefined ? 'no transaction' : formatOp(shown(writer));
  }

  /** Fills `external` and reports reads that disagree with their own transaction. */
  private internal(txn: Txn): void {
    const appended = new Map<string, number[]>();
    for (const m of txn.completion!.txn) {
      if (m[0] === 'append') {
        pushTo(appended, m[1], m[2]);
        continue;
      }
      const [, key] = m;
      const value = m[2]!;
      const own = this.reads === 'in-order' ? (appended.get(key) ?? []) : [];
      const endsWithOwn = value.length >= own.length && own.every((v, i) => value[value.length - own.length + i] === v);
      const external = endsWithOwn ? value.slice(0, value.length - own.length) : value.filter((v) => this.writer(key, v) !== txn);
      const earlier = txn.external.get(key);
      if (earlier === undefined) txn.external.set(key, external);
      let problem: string | null = null;
      if (!endsWithOwn) {
        problem = `it does not end with the transaction's own appends ${list(own)} before it`;
      } else if (earlier !== undefined && !(earlier.length === external.length && isPrefix(earlier, external))) {
        problem = `an earlier read in the same transaction saw ${list(earlier)}${this.reads === 'in-order' ? ' before its own appends' : ''}`;
      } else if (this.reads === 'db-before' && (txn.appends.get(key) ?? []).some((v) => value.includes(v))) {
        problem = `it includes the transaction's own append, and a transaction reads its db-before`;
      }
      if (problem !== null) this.report('internal', `${formatOp(shown(txn))} read ${key} as ${list(value)}, but ${problem}.`, [txn]);
    }
  }

  /** The longest read of each key; every other read must be a prefix of it. */
  versionOrders(): void {
    const readsOf = new Map<string, Array<{ txn: Txn; value: readonly number[] }>>();
    for (const txn of this.txns) {
      for (const { key, value } of txn.reads) pushTo(readsOf, key, { txn, value });
    }
    for (const [key, observed] of readsOf) {
      const longest = observed.reduce((a, b) => (b.value.length > a.value.length ? b : a));
      const position = new Map<number, number>();
      longest.value.forEach((v, i) => position.has(v) || position.set(v, i));
      this.orders.set(key, { values: longest.value, position });
      const conflicting = observed.find((r) => !isPrefix(r.value, longest.value));
      if (conflicting !== undefined) {
        const at = conflicting.value.findIndex((v, i) => longest.value[i] !== v);
        const [a, b] = [conflicting.value[at], longest.value[at]];
        this.report('incompatible-order', `Two reads of ${key} disagree on its order at position ${at} (${a} in one, ${b ?? 'nothing'} in the other), so neither is a prefix of the other:\n  ${formatOp(shown(conflicting.txn))}\n  ${formatOp(shown(longest.txn))}`, [conflicting.txn, longest.txn]);
      }
    }
  }

  /** ww edges along each version order; wr and rw edges from each external read. */
  dataEdges(): void {
    const live = (t: Txn | undefined): t is Txn => t !== undefined && t.status !== 'fail';
    for (const [key, { values }] of this.orders) {
      for (let i = 0; i + 1 < values.length; i++) {
        const [from, to] = [this.writer(key, values[i]!), this.writer(key, values[i + 1]!)];
        if (live(from) && live(to) && from !== to) this.graph.add({ from: from.node, to: to.node, kind: 'ww', key, value: values[i + 1]!, previous: values[i]! });
      }
    }
    for (const txn of this.txns) {
      for (const [key, value] of txn.external) {
        const last = value[value.length - 1];
        const source = last === undefined ? undefined : this.writer(key, last);
        if (live(source) && source !== txn) this.graph.add({ from: source.node, to: txn.node, kind: 'wr', key, value: last! });
        const order = this.orders.get(key)!.values;
        if (value.length >= order.length || !isPrefix(value, order)) continue;
        const next = this.writer(key, order[value.length]!);
        if (live(next) && next !== txn) this.graph.add({ from: txn.node, to: next.node, kind: 'rw', key, value: order[value.length]!, ...(last === undefined ? {} : { previous: last }) });
      }
    }
  }

  /** Two committed transactions that read the same version of a key and both appended to it. */
  lostUpdates(): void {
    const byVersion = new Map<string, { key: string; version: readonly number[]; txns: Txn[] }>();
    for (const txn of this.txns) {
      for (const [key, version] of txn.external) {
        if (!txn.appends.has(key)) continue;
        const id = JSON.stringify([key, version]);
        const group = byVersion.get(id) ?? byVersion.set(id, { key, version, txns: [] }).get(id)!;
        group.txns.push(txn);
      }
    }
    for (const { key, version, txns } of byVersion.values()) {
      if (txns.length < 2) continue;
      this.report('lost-update', `${txns.length} committed transactions read ${key} as ${list(version)} and appended to it; one of them must have missed the other's append:\n${txns.map((t) => `  ${formatOp(shown(t))}`).join('\n')}`, txns);
    }
  }

  /** Realtime edges (T1 completed before T2 was invoked, reduced transitively), and lost appends in real time. */
  realtime(): void {
    const byInvoke = new Map(this.txns.map((t) => [t.invoke.index, t]));
    const byCompletion = new Map(this.txns.flatMap((t) => (t.completion === null ? [] : [[t.completion.index, t] as const])));
    // The frontier: ok transactions with no ok successor known yet. Edges from it to each new
    // invocation; a completion replaces those of its predecessors (reachable through it now).
    let frontier = new Set<Txn>();
    const predecessors = new Map<Txn, ReadonlySet<Txn>>();
    const acknowledged = new LostAppends(this);
    const last = this.txns.reduce((most, t) => Math.max(most, shown(t).index), -1);
    for (let index = 0; index <= last; index++) {
      const invoked = byInvoke.get(index);
      if (invoked !== undefined && invoked.status !== 'fail') {
        for (const before of frontier) this.graph.add({ from: before.node, to: invoked.node, kind: 'realtime' });
        predecessors.set(invoked, frontier);
        acknowledged.read(invoked);
      }
      const completed = byCompletion.get(index);
      if (completed !== undefined && completed.status === 'ok') {
        const replaced = predecessors.get(completed)!;
        frontier = new Set([...frontier].filter((t) => !replaced.has(t)));
        frontier.add(completed);
        acknowledged.acknowledge(completed);
      }
    }
  }

  /** Process edges (each transaction after the last ok one of its process), and lost appends in each session. */
  sessions(): void {
    const byProcess = new Map<number, Txn[]>();
    for (const txn of this.txns) pushTo(byProcess, txn.invoke.process, txn);
    for (const txns of byProcess.values()) {
      let lastOk: Txn | null = null;
      const acknowledged = new LostAppends(this);
      for (const txn of txns) {
        if (txn.status === 'fail') continue;
        if (lastOk !== null) this.graph.add({ from: lastOk.node, to: txn.node, kind: 'process' });
        acknowledged.read(txn);
        if (txn.status === 'ok') {
          lastOk = txn;
          acknowledged.acknowledge(txn);
        }
      }
    }
  }

  /** Reports one cycle per strongly connected component; answers how many there were. */
  cycles(order: 'realtime' | 'process' | null): number {
    const kinds = new Set<EdgeKind>(['ww', 'wr', 'rw', ...(order === null ? [] : [order])]);
    const components = this.graph.components(kinds);
    for (const component of components) {
      const cycle = classifyComponent(this.graph, component, order);
      const nodes = [...new Set(cycle.edges.map((e) => e.from))];
      this.anomalies.push({ kind: cycle.kind, explanation: explainCycle(cycle, (n) => this.txns[n]!), ops: nodes.map((n) => shown(this.txns[n]!)), cycle: cycle.edges, order: cycle.order });
    }
    return components.length;
  }

  /** Every edge between two transactions that know their t goes forward in t. */
  tOrder(): void {
    const strict: Record<EdgeKind, boolean> = { ww: true, rw: true, wr: false, realtime: false, process: false };
    for (const txn of this.txns) {
      for (const edge of this.graph.edges(txn.node)) {
        const [from, to] = [this.txns[edge.from]!, this.txns[edge.to]!];
        const [tFrom, tTo] = [from.completion?.t, to.completion?.t];
        if (from.status !== 'ok' || to.status !== 'ok' || tFrom === undefined || tTo === undefined) continue;
        if (strict[edge.kind] ? tFrom < tTo : tFrom <= tTo) continue;
        this.report('t-order', `${formatOp(shown(from))} must precede ${formatOp(shown(to))} (${edge.kind}${edge.key === undefined ? '' : ` on ${edge.key}`}), but its t ${tFrom} is ${tFrom === tTo ? 'the same' : 'later'}.`, [from, to]);
      }
    }
  }

  reportLostAppend(key: string, value: number, writer: Txn, reader: Txn, seen: readonly number[]): void {
    this.report('lost-append', `${formatOp(shown(writer))} appended ${value} to ${key} and was acknowledged before ${formatOp(shown(reader))} began, whose read of ${key} as ${list(seen)} does not include it.`, [writer, reader]);
  }
}

/**
 * Acknowledged appends that a sequence of transactions (in real time, or in one session) must
 * see. Cheap when nothing is lost: it keeps, per key, the furthest position in the version order
 * of any acknowledged append (an append no read saw counts as beyond the end), and looks at the
 * values themselves only when a read is shorter than that.
 */
class LostAppends {
  private readonly required = new Map<string, Array<{ value: number; writer: Txn }>>();
  private readonly furthest = new Map<string, number>();
  private readonly reported = new Set<string>();

  constructor(private readonly check: ListAppendCheck) {}

  acknowledge(txn: Txn): void {
    for (const [key, values] of txn.appends) {
      const position = this.check.orders.get(key)?.position;
      for (const value of values) {
        (this.required.get(key) ?? this.required.set(key, []).get(key)!).push({ value, writer: txn });
        this.furthest.set(key, Math.max(this.furthest.get(key) ?? -1, position?.get(value) ?? Infinity));
      }
    }
  }

  read(txn: Txn): void {
    if (txn.status !== 'ok') return;
    for (const [key, seen] of txn.external) {
      if ((this.furthest.get(key) ?? -1) < seen.length) continue;
      const contained = new Set(seen);
      for (const { value, writer } of this.required.get(key) ?? []) {
        if (contained.has(value) || writer === txn || this.reported.has(`${key} ${value}`)) continue;
        this.reported.add(`${key} ${value}`);
        this.check.reportLostAppend(key, value, writer, txn, seen);
      }
    }
  }
}

