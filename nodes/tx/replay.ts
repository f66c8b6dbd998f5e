//! Replays a logged transaction: its datoms are applied as they are, with no tempid resolution,
//! no transaction functions and no checks (they passed when the transaction was first
//! processed). Replaying the log in order rebuilds exactly the db values the transactor made.
import type { Datom } from '../datom/datom.ts';
import { tOfTx } from '../datom/datom.ts';
import { Db } from '../db/db.ts';
import { currentFact } from '../db/merged.ts';
import { AssertionError, assert } from '../util/assert.ts';
import { ATTR } from '../schema/bootstrap.ts';
import { applyTransaction, type Fact } from './apply.ts';
import { schemaChanges } from './schema-change.ts';

export interface LoggedTransaction {
  readonly t: number;
  readonly datoms: readonly Datom[];
  /** Entity counters after the transaction (new ids it allocated but that hold no datoms still count). */
  readonly nextUserN: number;
  readonly nextDbN: number;
}

export function replay(db: Db, logged: LoggedTransaction): Db {
  const state = db.state;
  if (logged.t !== state.basisT + 1) throw new AssertionError(`log replay out of order: t ${logged.t} after basis ${state.basisT}`);
  const assertions: Fact[] = [];
  const retractions: Array<Fact & { row: number }> = [];
  let txInstantMs = state.lastTxInstantMs;
  for (const datom of logged.datoms) {
    assert(tOfTx(datom.tx) === logged.t, 'logged datom from another transaction');
    const attribute = state.schema.attribute(datom.a);
    if (attribute === undefined) throw new AssertionError(`logged datom names unknown attribute ${datom.a}`);
    if (datom.added) {
      assertions.push({ e: datom.e, attribute, v: datom.v });
      if (datom.a === ATTR.txInstant && datom.e === datom.tx) txInstantMs = (datom.v as Date).getTime();
    } else {
      const fact = currentFact(state, datom.e, datom.a, datom.v);
      assert(fact !== null, 'logged retraction of a fact that is not current');
      retractions.push({ e: datom.e, attribute, v: datom.v, row: fact.row });
    }
  }
  const schema = schemaChanges(db, assertions, retractions);
  const next = applyTransaction(state, logged.t, assertions, retractions, schema, { userN: logged.nextUserN, dbN: logged.nextDbN }, txInstantMs);
  return new Db(next.state);
}
