//! In-process registries of user code named by symbols: transaction functions, attribute
//! predicates and entity predicates. Ions will deploy into the same registries later.
//!
//! A transaction function receives db-before (as in Datomic: every transaction function sees the
//! database as it was before the transaction, never the effects of earlier forms in it) and the
//! arguments of its form, and returns tx-data.
import type { Db } from '../db/db.ts';

export type TxFunction = (db: Db, ...args: any[]) => unknown;
/** `(pred value)`: true when the value is acceptable. */
export type AttributePredicate = (value: unknown) => boolean;
/** `(pred db-after eid)`: true when the entity is acceptable. */
export type EntityPredicate = (db: Db, e: number) => boolean;

const txFunctions = new Map<string, TxFunction>();
const attributePredicates = new Map<string, AttributePredicate>();
const entityPredicates = new Map<string, EntityPredicate>();

function checkName(name: string): string {
  const bare = name.startsWith(':') ? name.slice(1) : name;
  if (!/^[^\s/]+\/[^\s/]+$/.test(bare)) {
    throw new TypeError(`A function name must be namespaced, like "my.app/transfer"; got ${JSON.stringify(name)}.`);
  }
  return bare;
}

/** Registers `fn` as the transaction function `name` (used as `[:my.app/transfer ...]`). */
export function registerTxFunction(name: string, fn: TxFunction): void {
  txFunctions.set(checkName(name), fn);
}
export function registerAttributePredicate(name: string, fn: AttributePredicate): void {
  attributePredicates.set(checkName(name), fn);
}
export function registerEntityPredicate(name: string, fn: EntityPredicate): void {
  entityPredicates.set(checkName(name), fn);
}

export function txFunction(name: string): TxFunction | undefined {
  return txFunctions.get(name);
}
export function attributePredicate(name: string): AttributePredicate | undefined {
  return attributePredicates.get(name);
}
export function entityPredicate(name: string): EntityPredicate | undefined {
  return entityPredicates.get(name);
}
