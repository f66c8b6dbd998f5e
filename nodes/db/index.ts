// The engine's public surface: db values and the transaction layer that makes new ones.
import '../tx/transact.ts';

export { Db, type DbState, type TxReport, type TransactOptions, type DbStats } from './db.ts';
export { emptyDb } from './empty-db.ts';
export type { Database, Attribute, EntityRef, ValueType } from './database.ts';
export type { Datom, IndexName } from '../datom/datom.ts';
