//! Replays a logged transaction: its datoms are applied as they are, with no tempid resolution,
//! no transaction functions and no checks (they passed when the transaction was first
//! processed). Replaying the log in order rebuilds exactly the db values the transactor made.
//! The datoms become rows in their logged order; only the facts of entities whose schema the
//! transaction changes are collected as facts, for schemaChanges.
import type { Datom } from '../datom/datom.ts';
import { tOfTx } from '../datom/datom.ts';
import { Db } from '../db/db.ts';
import { currentFact } from '../db/merged.ts';
import { AssertionError, assert } from '../util/assert.ts';
import { ATTR } from '../schema/bootstrap.ts';
import type { Attribute } from '../db/database.ts';
import { TransactionRows, type Fact } from './apply.ts';
import { changesSchema, schemaChanges } from './schema-change.ts';

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
  const { datoms } = logged;
  // Entities whose schema the transaction changes: their facts go to schemaChanges, as facts.
  let touched: Set<number> | null = null;
  for (let k = 0; k < datoms.length; k++) {
    const { e, a } = datoms[k]!;
    if (changesSchema(a)) (touched ??= new Set()).add(e);
  }
  const assertions: Fact[] = [];
  const retractions: Fact[] = [];
  const rows = new TransactionRows(state, logged.t);
  let txInstantMs = state.lastTxInstantMs;
  let attribute: Attribute | undefined;
  for (let k = 0; k < datoms.length; k++) {
    const datom = datoms[k]!;
    const { e, a, v } = datom;
    assert(tOfTx(datom.tx) === logged.t, 'logged datom from another transaction');
    // A run of datoms of one attribute (a card-many attribute's values) looks it up once.
    if (attribute === undefined || attribute.id !== a) attribute = state.schema.attribute(a);
    if (attribute === undefined) throw new AssertionError(`logged datom names unknown attribute ${a}`);
    if (datom.added) {
      rows.assert(e, attribute, v);
      if (a === ATTR.txInstant && e === datom.tx) txInstantMs = (v as Date).getTime();
      if (touched?.has(e) === true) assertions.push({ e, attribute, v });
    } else {
      const fact = currentFact(state, e, a, v);
      assert(fact !== null, 'logged retraction of a fact that is not current');
      rows.retract(e, attribute, v, fact.row);
      if (touched?.has(e) === true) retractions.push({ e, attribute, v });
    }
  }
  const schema = schemaChanges(db, assertions, retractions);
  return new Db(rows.applied(schema, { userN: logged.nextUserN, dbN: logged.nextDbN }, txInstantMs).state);
}
