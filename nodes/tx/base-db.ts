//! Db values on a durable base (nodes/db/durable-base.ts): the state a database opens to from an
//! index root, before the log after the root is replayed onto it.
import { emptyTree } from '../btree/int-tree.ts';
import { ATTR, schemaAttributeIds } from '../schema/bootstrap.ts';
import type { Schema } from '../schema/schema.ts';
import { DatomTable } from '../db/datom-table.ts';
import { Db, type DbState, type Trees } from '../db/db.ts';
import { readDb, type DurableBase } from '../db/durable-base.ts';
import { emptyDb } from '../db/empty-db.ts';
import { indexNames, ordersFor } from '../db/index-order.ts';
import type { Fact } from './apply.ts';
import { schemaChanges } from './schema-change.ts';

export interface BaseCounters {
  readonly nextUserN: number;
  readonly nextDbN: number;
  readonly lastTxInstantMs: number;
}

/** A db value at `base.t` whose every datom is in the base (novelty is empty). */
export function dbOnBase(base: DurableBase, schema: Schema, counters: BaseCounters): Db {
  const table = new DatomTable();
  const trees = {} as Record<string, typeof emptyTree>;
  for (const index of indexNames) trees[index] = emptyTree;
  const state: DbState = {
    table,
    tableLength: 0,
    orders: ordersFor(table),
    basisT: base.t,
    current: trees as Trees,
    history: { ...trees } as Trees,
    schema,
    nextUserN: counters.nextUserN,
    nextDbN: counters.nextDbN,
    lastTxInstantMs: counters.lastTxInstantMs,
    base,
    hidden: { ...trees } as Trees,
  };
  return new Db(state);
}

/**
 * The schema at the base's t, read from its datoms: every entity with an ident, its schema
 * facts installed at once on the built-in schema (the rules of a fresh install hold for them,
 * since they held when each was installed).
 */
export async function schemaOfBase(base: DurableBase): Promise<Schema> {
  const empty = emptyDb();
  const bootstrap = empty.schema;
  const facts = await readDb(base, () => {
    const out: Fact[] = [];
    const entities = [...base.datoms('aevt', 'current', [ATTR.ident], [ATTR.ident], true)].map((d) => d.e);
    for (const e of entities) {
      for (const d of base.datoms('eavt', 'current', [e], [e], true)) {
        if (d.a !== ATTR.ident && !schemaAttributeIds.has(d.a)) continue;
        out.push({ e: d.e, attribute: bootstrap.attribute(d.a)!, v: d.v });
      }
    }
    return out;
  });
  return schemaChanges(empty, facts, []);
}
