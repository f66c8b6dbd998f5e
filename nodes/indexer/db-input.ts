//! Adapters from the memory engine to the indexer: the bootstrap transaction (t 0, which the log
//! does not hold) and an `IndexInput` from a db value and the transactions it added.
import { inNoveltyHistory } from '../db/merged.ts';
import { tOfTx } from '../datom/datom.ts';
import type { Db } from '../db/db.ts';
import { emptyDb } from '../db/empty-db.ts';
import type { IndexInput } from './indexer.ts';
import type { AttributeFacts, LoggedTransaction } from './novelty.ts';

/** The datoms of the built-in schema, at t 0: the first index of a database includes them. */
export function bootstrapTransaction(): LoggedTransaction {
  return { t: 0, datoms: [...emptyDb().datoms('eavt')] };
}

export function schemaFacts(db: Db): AttributeFacts {
  return {
    isRef: (a) => db.attribute(a)?.valueType === 'ref',
    // The db value's own history rows say what :db/noHistory was at each retraction (the db holds
    // every transaction the run covers as novelty, or all of them in memory).
    keepsHistory: (retraction) => inNoveltyHistory(db.state, retraction.e, retraction.a, retraction.v, tOfTx(retraction.tx)),
  };
}

/** Indexes `db` given the transactions after the current root up to db's basis. */
export function indexInputOf(db: Db, transactions: readonly LoggedTransaction[], logPosition: number): IndexInput {
  const { state } = db;
  return {
    t: state.basisT,
    logPosition,
    nextUserN: state.nextUserN,
    nextDbN: state.nextDbN,
    lastTxInstantMs: state.lastTxInstantMs,
    transactions,
    schema: schemaFacts(db),
  };
}
