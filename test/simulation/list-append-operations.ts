//! The list-append workload as a simulated node answers it (Jepsen's list-append, on factum's data
//! model). Each key is an entity `{:sim/key k}` (unique identity, so an append upserts it); a list
//! is that entity's `:sim/element` values (cardinality many, never retracted), in the order of
//! the transactions that asserted them: a transaction appends at most one element per key, so
//! the t of each element's datom orders the list.
//!
//! A transaction with appends is one factum transaction (all its appends at one t); its reads are
//! answered on its db-before, the db value just before it, as factum (like Datomic) evaluates
//! a transaction: a read never sees its own transaction's appends (test/checker's
//! `reads: 'db-before'`). A transaction of reads only is
//! answered on this node's db value, synced to the basis the client asks for (its last t seen:
//! read-your-writes and monotonic reads on any node, as a client that passes its t to `sync`).
import type { DatabaseSeat } from '../../nodes/cluster/database-seat.ts';
import type { Db } from '../../nodes/db/db.ts';
import { readDb } from '../../nodes/db/durable-base.ts';
import { FactumError } from '../../nodes/util/errors.ts';
import { kw } from '../../nodes/values/values.ts';
import type { MicroOp } from '../checker/history.ts';

/** A key of the workload: `<database index>.<n>` (its database is in its name). */
export type Key = string;
export type { MicroOp };

/** The index of the database a key is in. */
export function databaseOf(key: Key): number {
  return Number(key.slice(0, key.indexOf('.')));
}

export const listAppendSchema = [
  { 'db/ident': kw('sim/key'), 'db/valueType': kw('db.type/string'), 'db/cardinality': kw('db.cardinality/one'), 'db/unique': kw('db.unique/identity') },
  { 'db/ident': kw('sim/element'), 'db/valueType': kw('db.type/long'), 'db/cardinality': kw('db.cardinality/many') },
];

/** What a node answers to a list-append transaction: its t (the basis of a read-only one) and its micro-ops with the reads filled in. */
export interface TxnAnswer {
  readonly t: number;
  readonly duplicate: boolean;
  readonly txn: readonly MicroOp[];
}

/** The lists of `keys` in `db`, read from segments as needed. */
export async function readLists(db: Db, keys: readonly Key[]): Promise<Map<Key, number[]>> {
  const key = kw('sim/key');
  const element = kw('sim/element');
  return readDb(db.state.base, () => {
    const lists = new Map<Key, number[]>();
    for (const k of keys) {
      const entity = [...db.datoms('avet', key, k)][0]?.e;
      const datoms = entity === undefined ? [] : [...db.datoms('eavt', entity, element)];
      // One element per key per transaction: the tx orders them.
      lists.set(k, datoms.sort((left, right) => left.tx - right.tx).map((datom) => Number(datom.v)));
    }
    return lists;
  });
}

/** The reads of `txn` answered on `before` (its db-before). */
async function answered(before: Db, txn: readonly MicroOp[]): Promise<MicroOp[]> {
  const lists = await readLists(before, [...new Set(txn.map((op) => op[1]))]);
  return txn.map((op): MicroOp => (op[0] === 'append' ? op : ['r', op[1], lists.get(op[1])!]));
}

/**
 * Runs one list-append transaction on `seat`; `basisT` is the client's last t seen in this
 * database. A `doomed` one carries a datom of the wrong type besides its appends: the transactor
 * refuses it whole (`value/wrong-type`), and none of its appends may ever be seen.
 */
export async function runTxn(seat: DatabaseSeat, txn: readonly MicroOp[], idempotencyKey: string, basisT: number, signal: AbortSignal, doomed = false): Promise<TxnAnswer> {
  const appends = txn.filter((op) => op[0] === 'append');
  if (appends.length === 0) {
    let db: Db;
    try {
      db = await seat.sync(basisT, { signal });
    } catch (error) {
      if ((error as Error).name !== 'TimeoutError') throw error;
      throw new FactumError('db/basis-not-reached', `simulated node: t ${basisT} not reached in time`, { t: basisT, basisT: seat.db().basisT });
    }
    return { t: db.basisT, duplicate: false, txn: await answered(db, txn) };
  }
  const txData: unknown[] = appends.map((op) => ({ 'sim/key': op[1], 'sim/element': op[2] }));
  if (doomed) txData.push({ 'sim/key': appends[0]![1], 'sim/element': 'not a long' });
  const report = await seat.transact(txData, { idempotencyKey });
  // The db value just before t (a duplicate's and a forwarded one's are asOf views: the same datoms).
  return { t: report.t, duplicate: report.duplicate, txn: await answered(report.dbBefore, txn) };
}

