//! A history of list-append transactions, as Jepsen records one: every transaction is an
//! invocation, then one completion by the same process.
//!
//!   #0 p1 invoke [append x 1] [r y _]       the read's value is not known yet
//!   #1 p2 invoke [r x _]
//!   #2 p1 ok     [append x 1] [r y [3 4]]   t=17
//!   #3 p2 info   [r x _]                    indeterminate: it may or may not have happened
//!
//! A completion is `ok` (committed, reads filled in), `fail` (certainly did not commit: none of
//! its appends may ever be visible) or `info` (indeterminate: a lost answer, a crash; its appends
//! may become visible at any later time, so nothing may be assumed to follow it in real time).
//! A process runs one transaction at a time; after an `info`, the recorder's callers usually go on
//! with a fresh process number, as Jepsen does, because the old transaction may still be running.
import { FactumError } from '../../nodes/util/errors.ts';

/** A read of a key (its list, or null while unknown) or an append of one value to a key's list. */
export type MicroOp = ['r', key: string, value: readonly number[] | null] | ['append', key: string, value: number];

export type OpType = 'invoke' | 'ok' | 'fail' | 'info';

export interface Op {
  /** Position in the history, from 0. */
  readonly index: number;
  readonly process: number;
  readonly type: OpType;
  readonly txn: readonly MicroOp[];
  /** Milliseconds, real or virtual; never decreasing along the history. */
  readonly time: number;
  /** The factum basis t of an ok transaction, if known. */
  readonly t?: number;
}

/** An invocation with its completion (null while it has none: as indeterminate as `info`). */
export interface Transaction {
  readonly invoke: Op;
  readonly completion: Op | null;
}

/**
 * Records a history as it happens.
 *
 * @example
 * const history = new History();
 * history.invoke(1, [['append', 'x', 1], ['r', 'y', null]], Date.now());
 * history.complete(1, 'ok', [['append', 'x', 1], ['r', 'y', [3, 4]]], Date.now(), report.dbAfter.basisT);
 */
export class History {
  readonly ops: Op[] = [];
  private readonly pending = new Map<number, Op>();

  invoke(process: number, txn: readonly MicroOp[], time: number): Op {
    if (this.pending.has(process)) {
      malformed(`Process ${process} invoked a transaction while its previous one (${formatOp(this.pending.get(process)!)}) has no completion; a process runs one at a time.`, { process });
    }
    const op = this.push({ process, type: 'invoke', txn: txn.map(unread), time });
    this.pending.set(process, op);
    return op;
  }

  /** Completes the process's pending invocation; a null txn repeats the invocation's (fail, info). */
  complete(process: number, type: Exclude<OpType, 'invoke'>, txn: readonly MicroOp[] | null, time: number, t?: number): Op {
    const invocation = this.pending.get(process);
    if (invocation === undefined) malformed(`Process ${process} completed a transaction it never invoked.`, { process });
    this.pending.delete(process);
    const completed = txn ?? invocation.txn;
    checkSameShape(invocation, completed);
    if (type === 'ok' && completed.some((m) => m[0] === 'r' && m[2] === null)) {
      malformed(`Process ${process} completed ${formatTxn(completed)} as ok without saying what each read returned.`, { process });
    }
    return this.push({ process, type, txn: completed.map(copy), time, ...(t === undefined ? {} : { t }) });
  }

  /** Invocations that have no completion yet. */
  pendingOps(): readonly Op[] {
    return [...this.pending.values()];
  }

  private push(fields: Omit<Op, 'index'>): Op {
    const previous = this.ops[this.ops.length - 1];
    if (previous !== undefined && fields.time < previous.time) {
      malformed(`Time went back in the history: ${fields.time} after ${previous.time}.`, { time: fields.time, previous: previous.time });
    }
    const op: Op = Object.freeze({ index: this.ops.length, ...fields });
    this.ops.push(op);
    return op;
  }
}

/**
 * Pairs each invocation with its completion, checking the history's shape: one pending
 * transaction per process, completions that match their invocation's micro-ops, and an `ok`
 * completion that knows every read's value.
 */
export function transactions(history: readonly Op[]): Transaction[] {
  const pending = new Map<number, { invoke: Op; slot: number }>();
  const paired: Array<{ invoke: Op; completion: Op | null }> = [];
  history.forEach((op, position) => {
    if (op.index !== position) malformed(`Op ${formatOp(op)} is at position ${position} of the history; its index must be its position.`, { index: op.index, position });
    if (op.type === 'invoke') {
      if (pending.has(op.process)) malformed(`Process ${op.process} invoked ${formatOp(op)} while ${formatOp(pending.get(op.process)!.invoke)} has no completion.`, { index: op.index });
      pending.set(op.process, { invoke: op, slot: paired.length });
      paired.push({ invoke: op, completion: null });
      return;
    }
    const open = pending.get(op.process);
    if (open === undefined) malformed(`${formatOp(op)} completes nothing: process ${op.process} has no pending invocation.`, { index: op.index });
    pending.delete(op.process);
    checkSameShape(open.invoke, op.txn);
    if (op.type === 'ok' && op.txn.some((m) => m[0] === 'r' && m[2] === null)) {
      malformed(`${formatOp(op)} is ok but does not say what one of its reads returned.`, { index: op.index });
    }
    paired[open.slot]!.completion = op;
  });
  return paired;
}

function checkSameShape(invocation: Op, txn: readonly MicroOp[]): void {
  const same = txn.length === invocation.txn.length && txn.every((m, i) => {
    const i0 = invocation.txn[i]!;
    return m[0] === i0[0] && m[1] === i0[1] && (m[0] === 'r' || m[2] === i0[2]);
  });
  if (!same) malformed(`A completion's micro-ops ${formatTxn(txn)} differ from its invocation's ${formatTxn(invocation.txn)}.`, { index: invocation.index });
}

function unread(m: MicroOp): MicroOp {
  return m[0] === 'r' ? ['r', m[1], null] : ['append', m[1], m[2]];
}

function copy(m: MicroOp): MicroOp {
  return m[0] === 'r' ? ['r', m[1], m[2] === null ? null : Object.freeze([...m[2]])] : ['append', m[1], m[2]];
}

function malformed(message: string, data: Record<string, unknown>): never {
  throw new FactumError('check/malformed-history', message, data);
}

// ---- printing, compact enough for an error message ----

/** Lists longer than this are shown by their ends (every anomaly names the elements that matter). */
const LIST_SHOWN_MAX = 12;

/** `[1 2 3]`; a long list as its first 3 and last 8 elements: `[1 2 3 …(40 more)… 50 51 … 57]`. */
export function formatList(values: readonly number[], full = false): string {
  if (full || values.length <= LIST_SHOWN_MAX) return `[${values.join(' ')}]`;
  const tail = LIST_SHOWN_MAX - 4;
  return `[${values.slice(0, 3).join(' ')} …(${values.length - 3 - tail} more)… ${values.slice(-tail).join(' ')}]`;
}

export function formatTxn(txn: readonly MicroOp[], full = false): string {
  return txn.map((m) => (m[0] === 'r' ? `[r ${m[1]} ${m[2] === null ? '_' : formatList(m[2], full)}]` : `[append ${m[1]} ${m[2]}]`)).join(' ');
}

/** `#12 p3 ok [append x 4] [r y [1 2]] t=45 @103ms`; long lists abbreviated unless `full`. */
export function formatOp(op: Op, full = false): string {
  return `#${op.index} p${op.process} ${op.type} ${formatTxn(op.txn, full)}${op.t === undefined ? '' : ` t=${op.t}`} @${op.time}ms`;
}

/**
 * The history, one op a line; with `around`, only the ops within `context` positions of those
 * indexes (gaps shown as `…`), so that a failure message shows what matters in a long history.
 */
export function formatHistory(history: readonly Op[], options: { readonly around?: readonly number[]; readonly context?: number; readonly full?: boolean } = {}): string {
  const { around, context = 2, full = false } = options;
  const shown = (i: number) => around === undefined || around.some((a) => Math.abs(a - i) <= context);
  const lines: string[] = [];
  let skipped = false;
  for (const op of history) {
    if (shown(op.index)) {
      lines.push(formatOp(op, full));
      skipped = false;
    } else if (!skipped) {
      lines.push('…');
      skipped = true;
    }
  }
  return lines.join('\n');
}
