// Test support for query: db values built with the real engine from EDN text, and set comparison.
import { expect } from 'vitest';
import { emptyDb, type Db } from '../db/index.ts';
import { readEdn } from '../edn/reader.ts';
import { isFactumError, type Code } from '../util/errors.ts';
import { compareValues } from '../values/compare.ts';

export const schemaText = `[
 {:db/ident :person/name :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
 {:db/ident :person/email :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
 {:db/ident :person/age :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
 {:db/ident :person/friend :db/valueType :db.type/ref :db/cardinality :db.cardinality/many}
 {:db/ident :person/parent :db/valueType :db.type/ref :db/cardinality :db.cardinality/one}
 {:db/ident :person/color :db/valueType :db.type/ref :db/cardinality :db.cardinality/one}
 {:db/ident :person/tags :db/valueType :db.type/keyword :db/cardinality :db.cardinality/many}
 {:db/ident :person/salary :db/valueType :db.type/double :db/cardinality :db.cardinality/one}
 {:db/ident :color/red} {:db/ident :color/blue}]`;

export const peopleText = `[
 {:db/id "ann" :person/name "Ann" :person/email "ann@x" :person/age 30 :person/friend ["bob" "cid"] :person/color :color/red :person/tags [:a :b] :person/salary 100.5}
 {:db/id "bob" :person/name "Bob" :person/email "bob@x" :person/age 20 :person/friend ["cid"] :person/parent "ann" :person/color :color/blue :person/tags [:b]}
 {:db/id "cid" :person/name "Cid" :person/email "cid@x" :person/age 30 :person/parent "bob" :person/salary 50.0}
 {:db/id "dan" :person/name "Dan" :person/email "dan@x" :person/parent "cid"}]`;

export interface TestWorld {
  readonly db: Db;
  readonly ids: Readonly<Record<string, number>>;
}

/** The schema above plus `data` (EDN text), transacted into an empty db. */
export function world(data: string = peopleText, schema: string = schemaText): TestWorld {
  const withSchema = emptyDb().with(readEdn(schema)).dbAfter;
  const report = withSchema.with(readEdn(data));
  return { db: report.dbAfter, ids: report.tempids };
}

/** Rows sorted by the index's value order, for comparing results that are sets. */
export function sorted(rows: unknown): unknown[] {
  const list = [...(rows as unknown[])];
  return list.sort((a, b) => compareValues(a, b));
}

export function expectCode(run: () => unknown, code: Code): void {
  try {
    run();
  } catch (error) {
    if (!isFactumError(error)) throw error;
    expect(error.code).toBe(code);
    return;
  }
  throw new Error(`expected an error with code ${code}, but nothing was thrown`);
}
