// Test support for pull: a db with a small social schema, built with the real engine.
import { expect } from 'vitest';
import { emptyDb, type Db } from '../db/index.ts';
import { isFactumError, type Code } from '../util/errors.ts';
import { kw } from '../values/values.ts';

export const attribute = (ident: string, type: string, more: Record<string, unknown> = {}): Record<string, unknown> => ({
  'db/ident': kw(ident),
  'db/valueType': kw(`db.type/${type}`),
  'db/cardinality': kw(`db.cardinality/${more.many === true ? 'many' : 'one'}`),
  ...Object.fromEntries(Object.entries(more).filter(([k]) => k !== 'many')),
});

export const schema = [
  attribute('person/name', 'string'),
  attribute('person/email', 'string', { 'db/unique': kw('db.unique/identity') }),
  attribute('person/age', 'long'),
  attribute('person/aliases', 'string', { many: true }),
  attribute('person/friend', 'ref', { many: true }),
  attribute('person/spouse', 'ref'),
  attribute('person/manager', 'ref'),
  attribute('person/color', 'ref'),
  attribute('person/tags', 'keyword', { many: true }),
  attribute('person/address', 'ref', { 'db/isComponent': true }),
  attribute('person/pets', 'ref', { many: true, 'db/isComponent': true }),
  attribute('address/street', 'string'),
  attribute('address/city', 'ref'),
  attribute('city/name', 'string'),
  attribute('pet/name', 'string'),
  attribute('pet/toy', 'ref', { 'db/isComponent': true }),
  attribute('toy/name', 'string'),
];

export interface World {
  readonly db: Db;
  readonly ids: Readonly<Record<string, number>>;
}

/** A db with the schema, two color idents and the given data; tempids become `ids`. */
export function world(data: readonly unknown[]): World {
  const withSchema = emptyDb().with(schema).dbAfter.with([{ 'db/ident': kw('color/red') }, { 'db/ident': kw('color/blue') }]).dbAfter;
  const report = withSchema.with(data);
  return { db: report.dbAfter, ids: report.tempids };
}

export function expectError(fn: () => unknown, code: Code): Error {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(isFactumError(caught), `expected a FactumError ${code}, got ${String(caught)}`).toBe(true);
  expect((caught as { code: string }).code).toBe(code);
  return caught as Error;
}
