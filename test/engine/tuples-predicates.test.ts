import { describe, expect, it } from 'vitest';
import { emptyDb } from '../../nodes/db/index.ts';
import { registerAttributePredicate, registerEntityPredicate, registerTxFunction } from '../../nodes/tx/functions.ts';
import { kw, sym } from '../../nodes/values/values.ts';
import { attr, entity, expectRejected } from './fixtures.ts';

describe('tuples', () => {
  const db = () =>
    emptyDb().with([
      attr('reg/course', 'string'),
      attr('reg/semester', 'string'),
      attr('reg/course+semester', 'tuple', { 'db/tupleAttrs': [kw('reg/course'), kw('reg/semester')], 'db/unique': kw('db.unique/identity') }),
      attr('geo/point', 'tuple', { 'db/tupleType': kw('db.type/long') }),
      attr('geo/labelled', 'tuple', { 'db/tupleTypes': [kw('db.type/string'), kw('db.type/long')] }),
    ]).dbAfter;

  it('maintains composite tuples from their attributes', () => {
    const r1 = db().with([{ 'db/id': 'r', 'reg/course': 'Math' }]);
    const r = r1.tempids.r!;
    expect(entity(r1.dbAfter, r)).toContainEqual(['reg/course+semester', ['Math', null]]);
    const r2 = r1.dbAfter.with([{ 'db/id': r, 'reg/semester': '2026' }]);
    expect(entity(r2.dbAfter, r)).toContainEqual(['reg/course+semester', ['Math', '2026']]);
    const r3 = r2.dbAfter.with([['db/retract', r, 'reg/course', 'Math'], ['db/retract', r, 'reg/semester', '2026']]);
    expect(entity(r3.dbAfter, r)).toEqual([]);
  });

  it('enforces uniqueness of composite tuples', () => {
    const r1 = db().with([{ 'reg/course': 'Math', 'reg/semester': '2026' }]);
    expectRejected(r1.dbAfter, [['db/add', 'x', 'reg/course', 'Math'], ['db/add', 'x', 'reg/semester', '2026']], 'transact/unique-conflict');
  });

  it('refuses to assert a composite tuple directly', () => {
    expectRejected(db(), [['db/add', 'x', 'reg/course+semester', ['a', 'b']]], 'transact/malformed');
  });

  it('checks homogeneous and heterogeneous tuple values', () => {
    const r = db().with([{ 'db/id': 'p', 'geo/point': [1, 2, 3], 'geo/labelled': ['a', 1] }]);
    expect(entity(r.dbAfter, r.tempids.p!)).toEqual([['geo/point', [1, 2, 3]], ['geo/labelled', ['a', 1]]]);
    expectRejected(db(), [{ 'geo/point': [1, 'x'] }], 'value/wrong-type');
    expectRejected(db(), [{ 'geo/labelled': ['a', 1, 2] }], 'value/wrong-type');
    expectRejected(db(), [{ 'geo/point': [1] }], 'value/wrong-type');
  });
});

describe('predicates, specs and transaction functions', () => {
  registerAttributePredicate('test/positive?', (v) => (v as number) > 0);
  registerEntityPredicate('test/adult?', (db, e) => ([...db.datoms('eavt', e, kw('user/age'))][0]?.v as number) >= 18);
  registerTxFunction('test/inc-age', (db, e: number, by: number) => {
    const age = [...db.datoms('eavt', e, kw('user/age'))][0]!.v as number;
    return [['db/add', e, 'user/age', age + by]];
  });

  const db = () =>
    emptyDb().with([
      attr('user/age', 'long', { 'db.attr/preds': [sym('test/positive?')] }),
      attr('user/name', 'string'),
    ]).dbAfter.with([
      { 'db/ident': kw('user/spec'), 'db.entity/attrs': [kw('user/name'), kw('user/age')], 'db.entity/preds': [sym('test/adult?')] },
    ]).dbAfter;

  it('runs attribute predicates', () => {
    expect(db().with([{ 'user/age': 5 }]).dbAfter.basisT).toBe(3);
    expectRejected(db(), [{ 'user/age': -5 }], 'transact/predicate-failed');
  });

  it('checks entity specs named by :db/ensure on db-after', () => {
    expect(db().with([{ 'user/name': 'A', 'user/age': 20, 'db/ensure': kw('user/spec') }]).dbAfter.basisT).toBe(3);
    expectRejected(db(), [{ 'user/name': 'A', 'db/ensure': kw('user/spec') }], 'transact/entity-spec-failed');
    expectRejected(db(), [{ 'user/name': 'A', 'user/age': 10, 'db/ensure': kw('user/spec') }], 'transact/entity-spec-failed');
  });

  it('expands transaction functions with db-before', () => {
    const r1 = db().with([{ 'db/id': 'u', 'user/age': 20 }]);
    const r2 = r1.dbAfter.with([[kw('test/inc-age'), r1.tempids.u, 2]]);
    expect(entity(r2.dbAfter, r1.tempids.u!)).toEqual([['user/age', 22]]);
    expectRejected(r1.dbAfter, [['test/unknown', 1]], 'transact/unknown-function');
  });
});
