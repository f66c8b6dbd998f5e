//! What every run of the whole-system simulation must show, checked against the log as it is in
//! storage at the end of the run (the truth: what was durably committed, in t order).
//!
//!   (a) no duplicates: every idempotency key, and every appended element, is in the logs at most
//!       once; every element in the logs was appended by some transaction a client sent and
//!       that did not fail (a refused transaction is not partly visible);
//!   (b) no lost acknowledged transaction: every `ok` transaction with appends is in its
//!       database's log at the t it was acknowledged with, under its idempotency key, with
//!       exactly its appends;
//!   (c) reads: every read of an `ok` transaction is the key's list as the log has it before
//!       the transaction's t (its db-before; a read-only one's: at its basis) — serializable in
//!       log order, with no dirty, lost or phantom element;
//!   (d) real time: a transaction with appends acknowledged before another one was invoked has
//!       a smaller t (in the same database); a client's read-only transaction reads at a basis
//!       no older than the last t it was answered (its session);
//!   (e) liveness mode: every transaction a client invoked completed.
//!
//! Ops are test/checker's (history.ts), whose Elle-style checker runs on the same history beside
//! these checks (they know the log; it infers the version orders from the reads alone).
import type { Op } from '../checker/history.ts';
import { databaseOf, type Key, type MicroOp } from './list-append-operations.ts';

/** One database's log as it is in storage at the end: each transaction's key and appends. */
export interface FinalLog {
  /** Transactions by t: their idempotency key, and the element each appended, by key. */
  readonly transactions: ReadonlyMap<number, { readonly idempotencyKey?: string; readonly appends: ReadonlyMap<Key, number> }>;
  /** Each key's list: [t, element] in t order. */
  readonly lists: ReadonlyMap<Key, ReadonlyArray<readonly [number, number]>>;
  /** Idempotency keys in the log as many times as they are there (duplicates show as repeats). */
  readonly idempotencyKeys: readonly string[];
}

export interface Completed {
  readonly process: number;
  readonly database: number;
  readonly invokedMs: number;
  readonly invoke: Op;
  readonly completion: Op | null;
  /** The client's n-th transaction: its idempotency key is `c<process>-<n>`. */
  readonly n: number;
}

/** Invocations paired with their completions, in invocation order. */
export function pairOps(history: readonly Op[]): Completed[] {
  const open = new Map<number, Completed>();
  const counts = new Map<number, number>();
  const pairs: Completed[] = [];
  for (const op of history) {
    if (op.type === 'invoke') {
      const n = counts.get(op.process) ?? 0;
      counts.set(op.process, n + 1);
      const pair: Completed = { process: op.process, database: databaseOf(op.txn[0]![1]), invokedMs: op.time, invoke: op, completion: null, n };
      open.set(op.process, pair);
      pairs.push(pair);
    } else {
      const pair = open.get(op.process);
      if (pair === undefined) throw new Error(`history: a completion of process ${op.process} without its invocation (index ${op.index})`);
      (pair as { completion: Op | null }).completion = op;
      open.delete(op.process);
    }
  }
  return pairs;
}

const appendsOf = (txn: readonly MicroOp[]) => txn.filter((op): op is ['append', Key, number] => op[0] === 'append');

/** (a) to (e); each problem says which transaction, what was expected and what was found. */
export function checkRun(history: readonly Op[], logs: readonly FinalLog[], liveness: boolean): string[] {
  const problems: string[] = [];
  const pairs = pairOps(history);
  const invoked = new Set<number>();
  // A failed transaction's elements count as never appended: seen in the log, they are problems.
  for (const pair of pairs) if (pair.completion?.type !== 'fail') for (const [, , element] of appendsOf(pair.invoke.txn)) invoked.add(element);
  // (a)
  const seen = new Set<number>();
  logs.forEach((log, database) => {
    const keys = new Set<string>();
    for (const key of log.idempotencyKeys) {
      if (keys.has(key)) problems.push(`(a) database ${database}: idempotency key ${key} is in the log more than once`);
      keys.add(key);
    }
    for (const [key, list] of log.lists) {
      for (const [t, element] of list) {
        if (seen.has(element)) problems.push(`(a) element ${element} (key ${key}, t ${t}) is in the logs more than once`);
        if (!invoked.has(element)) problems.push(`(a) element ${element} (key ${key}, t ${t}) is in the log but no client appended it`);
        seen.add(element);
      }
    }
  });
  const lastSeen = new Map<string, number>();
  for (const pair of pairs) {
    const { completion, invoke } = pair;
    const name = `c${pair.process}-${pair.n}`;
    if (completion === null || completion.type !== 'ok') {
      if (liveness && completion?.type !== 'fail') problems.push(`(e) ${name} (invoked at ${invoke.time.toFixed(0)} ms) never completed after faults stopped`);
      continue;
    }
    const log = logs[pair.database]!;
    const t = completion.t!;
    const appends = appendsOf(invoke.txn);
    // (b)
    if (appends.length > 0) {
      const logged = log.transactions.get(t);
      if (logged?.idempotencyKey !== name) problems.push(`(b) ${name} was acknowledged at t ${t}, but t ${t} in the log holds ${logged === undefined ? 'nothing' : `key ${logged.idempotencyKey}`}`);
      else {
        const expected = appends.map(([, key, element]) => `${key}:${element}`).sort().join(' ');
        const found = [...logged.appends].map(([key, element]) => `${key}:${element}`).sort().join(' ');
        if (expected !== found) problems.push(`(b) ${name} at t ${t}: appended ${expected}, the log holds ${found}`);
      }
    }
    // (c)
    completion.txn.forEach((op, index) => {
      if (op[0] === 'append') return;
      const expected = (log.lists.get(op[1]) ?? []).filter(([at]) => (appends.length > 0 ? at < t : at <= t)).map(([, element]) => element);
      if (JSON.stringify(op[2]) !== JSON.stringify(expected)) {
        problems.push(`(c) ${name} (t ${t}) micro-op ${index} read key ${op[1]} as ${JSON.stringify(op[2])}; the log has ${JSON.stringify(expected)} there`);
      }
    });
    // (d) sessions
    const session = `${pair.process}/${pair.database}`;
    if (appends.length === 0 && t < (lastSeen.get(session) ?? 0)) problems.push(`(d) ${name} read at basis ${t}, older than t ${lastSeen.get(session)} its client was answered before`);
    lastSeen.set(session, Math.max(t, lastSeen.get(session) ?? 0));
  }
  // (d) real time, transactions with appends of one database
  const writes = pairs.filter((pair) => pair.completion?.type === 'ok' && appendsOf(pair.invoke.txn).length > 0);
  for (const earlier of writes) {
    for (const later of writes) {
      if (earlier.database !== later.database || earlier.completion!.time >= later.invokedMs) continue;
      if (earlier.completion!.t! >= later.completion!.t!) {
        problems.push(`(d) c${earlier.process}-${earlier.n} was acknowledged at t ${earlier.completion!.t} (${earlier.completion!.time.toFixed(0)} ms) before c${later.process}-${later.n} was invoked (${later.invokedMs.toFixed(0)} ms), which committed at t ${later.completion!.t}`);
      }
    }
  }
  return problems;
}
