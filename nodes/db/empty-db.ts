//! The empty database: the built-in schema installed at t 0.
import { fromSorted } from '../btree/int-tree.ts';
import { bootstrapSchema, bootstrapTriples, firstFreeDbN } from '../schema/bootstrap.ts';
import { DatomTable } from './datom-table.ts';
import { Db, type DbState, type Trees } from './db.ts';
import { indexNames, ordersFor } from './index-order.ts';

export function emptyDb(): Db {
  const table = new DatomTable();
  const schema = bootstrapSchema();
  const rows: number[] = [];
  const refRows: number[] = [];
  for (const [e, a, v] of bootstrapTriples()) {
    const row = table.append(e, a, v, 0, true);
    rows.push(row);
    if (schema.attributes.get(a)?.valueType === 'ref') refRows.push(row);
  }
  const orders = ordersFor(table);
  const current = {} as Record<string, unknown>;
  const history = {} as Record<string, unknown>;
  for (const index of indexNames) {
    const keys = [...(index === 'vaet' ? refRows : rows)].sort(orders.current[index]);
    current[index] = fromSorted(keys);
    history[index] = fromSorted([]);
  }
  const state: DbState = {
    table,
    tableLength: table.length,
    orders,
    basisT: 0,
    current: current as Trees,
    history: history as Trees,
    schema,
    nextUserN: 0,
    nextDbN: firstFreeDbN,
    lastTxInstantMs: 0,
    base: null,
    hidden: { ...history } as Trees,
  };
  return new Db(state);
}
