// Shared helpers for engine tests: a db with a small schema, and datom projections.
import { emptyDb, type Db } from '../../nodes/db/index.ts';
import { isFactumError, type Code } from '../../nodes/util/errors.ts';
import { kw } from '../../nodes/values/values.ts';
import { expect } from 'vitest';

export const attr = (ident: string, type: string, more: Record<string, unknown> = {}) => ({
  'db/ident': kw(ident),
  'db/valueType': kw(`db.type/${type}`),
  'db/cardinality': kw(`db.cardinality/${(more.many as boolean) ? 'many' : 'one'}`),
  ...Object.fromEntries(Object.entries(more).filter(([k]) => k !== 'many')),
});

export function peopleDb(): Db {
  return emptyDb().with([
    attr('person/name', 'string'),
    attr('person/email', 'string', { 'db/unique': kw('db.unique/identity') }),
    attr('person/ssn', 'string', { 'db/unique': kw('db.unique/value') }),
    attr('person/age', 'long'),
    attr('person/aliases', 'string', { many: true }),
    attr('person/friend', 'ref', { many: true }),
    attr('person/spouse', 'ref'),
    attr('person/address', 'ref', { 'db/isComponent': true }),
    attr('address/street', 'string'),
    attr('person/color', 'ref'),
  ]).dbAfter.with([{ 'db/ident': kw('color/red') }, { 'db/ident': kw('color/blue') }]).dbAfter;
}

/** The current [e a v] triples of an entity, attribute idents as text. */
export function entity(db: Db, e: number): Array<[string, unknown]> {
  return [...db.datoms('eavt', e)].map((d) => [db.ident(d.a)!.fqn, d.v]);
}

export function expectError(fn: () => unknown, code: Code): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(isFactumError(caught), `expected a FactumError ${code}, got ${String(caught)}`).toBe(true);
  expect((caught as { code: string }).code).toBe(code);
}

/** Asserts that fn fails with `code` and that the db is unchanged afterwards. */
export function expectRejected(db: Db, txData: unknown, code: Code): void {
  const before = [...db.datoms('eavt')].length;
  expectError(() => db.with(txData), code);
  expect([...db.datoms('eavt')].length).toBe(before);
}
