// Issue 20, item 1: asserting and retracting the same datom in one transaction is a conflict
// (Datomic: `:db.error/datoms-conflict`, "Two datoms in the same transaction conflict", anomaly
// category conflict), whether or not the datom is in db-before and whatever forms expand to it.
import { describe, expect, it } from 'vitest';
import { registerTxFunction } from '../../nodes/tx/functions.ts';
import { FactumError } from '../../nodes/util/errors.ts';
import { kw } from '../../nodes/values/values.ts';
import { entity, expectRejected, peopleDb } from './fixtures.ts';

registerTxFunction('test/retract-name', (_db, e: unknown, name: unknown) => [['db/retract', e, 'person/name', name]]);
registerTxFunction('test/add-alias', (_db, e: unknown, alias: unknown) => [{ 'db/id': e, 'person/aliases': [alias] }]);

function annDb() {
  const r = peopleDb().with([{ 'db/id': 'ann', 'person/name': 'Ann', 'person/email': 'ann@x', 'person/aliases': ['A'] }]);
  return { db: r.dbAfter, ann: r.tempids.ann! };
}

describe('asserting and retracting one datom in one transaction (issue 20)', () => {
  const { db, ann } = annDb();
  const email = ['person/email', 'ann@x'];
  // Each case: tx-data that asserts and retracts the same [e a v].
  const cases: Array<[string, unknown[]]> = [
    ['list forms, a datom not in db-before', [['db/add', ann, 'person/aliases', 'B'], ['db/retract', ann, 'person/aliases', 'B']]],
    ['list forms, retraction first, a datom not in db-before', [['db/retract', ann, 'person/aliases', 'B'], ['db/add', ann, 'person/aliases', 'B']]],
    ['list forms, a datom in db-before', [['db/add', ann, 'person/name', 'Ann'], ['db/retract', ann, 'person/name', 'Ann']]],
    ['a map form and a retraction', [{ 'db/id': ann, 'person/aliases': ['C'] }, ['db/retract', ann, 'person/aliases', 'C']]],
    ['retractEntity and an assertion of one of its datoms', [['db/retractEntity', ann], ['db/add', ann, 'person/name', 'Ann']]],
    ['a transaction function retracting what a list form asserts', [['test/retract-name', ann, 'Bob'], ['db/add', ann, 'person/name', 'Bob']]],
    ['a transaction function asserting what a list form retracts', [['test/add-alias', ann, 'Z'], ['db/retract', ann, 'person/aliases', 'Z']]],
    ['a new entity by tempid', [['db/add', 't', 'person/name', 'Bob'], ['db/retract', 't', 'person/name', 'Bob']]],
    ['a tempid that upserts and the id it resolves to', [{ 'db/id': 't', 'person/email': 'ann@x', 'person/name': 'Anne' }, ['db/retract', ann, 'person/name', 'Anne']]],
    ['a lookup ref and the id it names', [['db/retract', email, 'person/aliases', 'D'], ['db/add', ann, 'person/aliases', 'D']]],
    ['an ident and the id it names, in value position', [['db/add', ann, 'person/color', kw('color/red')], ['db/retract', ann, 'person/color', db.entid(kw('color/red'))]]],
    [':db/cas and a retraction of its new value', [['db/cas', ann, 'person/name', 'Ann', 'Bob'], ['db/retract', ann, 'person/name', 'Bob']]],
  ];
  for (const [name, txData] of cases) {
    it(`refuses ${name}, writing nothing`, () => expectRejected(db, txData, 'transact/datom-conflict'));
  }

  it('says which datom conflicts, with category conflict', () => {
    let caught: unknown;
    try {
      db.with([['db/add', ann, 'person/aliases', 'B'], ['db/retract', ann, 'person/aliases', 'B']]);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(FactumError);
    const error = caught as FactumError;
    expect(error.category).toBe('conflict');
    expect(error.data).toEqual({ e: ann, attribute: ':person/aliases', value: 'B' });
    expect(error.message).toContain(`[${ann} :person/aliases "B"]`);
  });

  it('still accepts a retraction of an absent datom beside an assertion of another value', () => {
    const r = db.with([['db/retract', ann, 'person/aliases', 'B'], ['db/add', ann, 'person/aliases', 'C']]);
    expect(entity(r.dbAfter, ann).filter(([a]) => a === 'person/aliases')).toEqual([['person/aliases', 'A'], ['person/aliases', 'C']]);
  });

  it('still accepts retracting an old cardinality-one value while asserting a new one', () => {
    const r = db.with([['db/retract', ann, 'person/name', 'Ann'], ['db/add', ann, 'person/name', 'Anne']]);
    expect(entity(r.dbAfter, ann).filter(([a]) => a === 'person/name')).toEqual([['person/name', 'Anne']]);
  });
});
