// The whole-system simulation's checks (system-checks.ts) on hand-built histories and logs: each
// kind of problem they exist for is caught, and a correct run passes.
import { describe, expect, it } from 'vitest';
import type { Op } from '../checker/history.ts';
import type { Key, MicroOp } from './list-append-operations.ts';
import { checkRun, type FinalLog } from './system-checks.ts';

/** A log of one database from [t, idempotency key, [key, element] appends]. */
function logOf(transactions: ReadonlyArray<readonly [number, string, ReadonlyArray<readonly [Key, number]>]>): FinalLog {
  const lists = new Map<Key, Array<[number, number]>>();
  for (const [t, , appends] of transactions) for (const [key, element] of appends) lists.set(key, [...(lists.get(key) ?? []), [t, element]]);
  return {
    transactions: new Map(transactions.map(([t, idempotencyKey, appends]) => [t, { idempotencyKey, appends: new Map(appends) }])),
    lists,
    idempotencyKeys: transactions.map(([, key]) => key),
  };
}

/** A history: [process, type, txn, time, t?] lines, indexed in order. */
function historyOf(lines: ReadonlyArray<readonly [number, Op['type'], readonly MicroOp[], number, number?]>): Op[] {
  return lines.map(([process, type, txn, time, t], index) => ({ index, process, type, txn, time, ...(t === undefined ? {} : { t }) }));
}

// One database, index 0 (its keys are 0.n). Client 0 appends 1 to key 0.0 at t 2,
// client 1 then appends 2 to key 0.0 at t 3 and reads it (its db-before), client 0 reads it at basis 3.
const log = logOf([
  [2, 'c0-0', [['0.0', 1]]],
  [3, 'c1-0', [['0.0', 2]]],
]);
const good = historyOf([
  [0, 'invoke', [['append', '0.0', 1]], 0],
  [0, 'ok', [['append', '0.0', 1]], 10, 2],
  [1, 'invoke', [['append', '0.0', 2], ['r', '0.0', null]], 20],
  [1, 'ok', [['append', '0.0', 2], ['r', '0.0', [1]]], 30, 3],
  [0, 'invoke', [['r', '0.0', null]], 40],
  [0, 'ok', [['r', '0.0', [1, 2]]], 50, 3],
]);

describe('whole-system simulation checks', () => {
  it('pass a correct run', () => {
    expect(checkRun(good, [log], true)).toEqual([]);
  });

  it('catch an acknowledged transaction missing from the log (lost)', () => {
    const lost = logOf([[2, 'c0-0', [['0.0', 1]]]]);
    expect(checkRun(good.slice(0, 4), [lost], false).join('\n')).toMatch(/\(b\) c1-0 was acknowledged at t 3, but t 3 in the log holds nothing/);
  });

  it('catch a transaction in the log twice (duplicated), and an element no client appended', () => {
    const twice = logOf([
      [2, 'c0-0', [['0.0', 1]]],
      [3, 'c1-0', [['0.0', 2]]],
      [4, 'c1-0', [['0.0', 2]]],
      [5, 'x', [['0.0', 99]]],
    ]);
    const problems = checkRun(good, [twice], false).join('\n');
    expect(problems).toMatch(/\(a\) database 0: idempotency key c1-0 is in the log more than once/);
    expect(problems).toMatch(/\(a\) element 2 .* more than once/);
    expect(problems).toMatch(/\(a\) element 99 .* no client appended it/);
  });

  it('catch an element of a failed transaction in the log (partly visible)', () => {
    const failed = historyOf([
      [0, 'invoke', [['append', '0.0', 1]], 0],
      [0, 'ok', [['append', '0.0', 1]], 10, 2],
      [1, 'invoke', [['append', '0.0', 2]], 20],
      [1, 'fail', [['append', '0.0', 2]], 30],
    ]);
    expect(checkRun(failed, [logOf([[2, 'c0-0', [['0.0', 1]]]])], true)).toEqual([]);
    expect(checkRun(failed, [log], true).join('\n')).toMatch(/\(a\) element 2 \(key 0.0, t 3\) is in the log but no client appended it/);
  });

  it('catch a read that is not the list the log has before its t (a lost or dirty element)', () => {
    const dirty = good.map((op) => (op.index === 3 ? { ...op, txn: [['append', '0.0', 2], ['r', '0.0', [1, 2]]] as MicroOp[] } : op));
    expect(checkRun(dirty, [log], false).join('\n')).toMatch(/\(c\) c1-0 \(t 3\) micro-op 1 read key 0.0 as \[1,2\]; the log has \[1\]/);
    const lost = good.map((op) => (op.index === 5 ? { ...op, txn: [['r', '0.0', [2]]] as MicroOp[] } : op));
    expect(checkRun(lost, [log], false).join('\n')).toMatch(/\(c\) c0-1 \(t 3\) micro-op 0 read key 0.0 as \[2\]; the log has \[1,2\]/);
  });

  it('catch a transaction committed before one acknowledged before it was invoked (real time)', () => {
    const reordered = logOf([
      [2, 'c1-0', [['0.0', 2]]],
      [3, 'c0-0', [['0.0', 1]]],
    ]);
    const history = historyOf([
      [0, 'invoke', [['append', '0.0', 1]], 0],
      [0, 'ok', [['append', '0.0', 1]], 10, 3],
      [1, 'invoke', [['append', '0.0', 2]], 20],
      [1, 'ok', [['append', '0.0', 2]], 30, 2],
    ]);
    expect(checkRun(history, [reordered], false).join('\n')).toMatch(/\(d\) c0-0 was acknowledged at t 3 .* before c1-0 was invoked .* which committed at t 2/);
  });

  it('catch a read-only transaction at a basis older than its client saw (session)', () => {
    const older = good.map((op) => (op.index === 5 ? { ...op, t: 1, txn: [['r', '0.0', []]] as MicroOp[] } : op));
    expect(checkRun(older, [log], false).join('\n')).toMatch(/\(d\) c0-1 read at basis 1, older than t 2/);
  });

  it('catch, in liveness mode only, a transaction that never completed', () => {
    const pending = good.slice(0, 5);
    expect(checkRun(pending, [log], false)).toEqual([]);
    expect(checkRun(pending, [log], true).join('\n')).toMatch(/\(e\) c0-1 .* never completed/);
  });
});
