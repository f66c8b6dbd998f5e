import { describe, expect, it } from 'vitest';
import { kw } from '../../nodes/values/values.ts';
import { entity, expectRejected, peopleDb } from './fixtures.ts';

describe('upsert and lookup refs', () => {
  const base = () => peopleDb().with([{ 'db/id': 'ann', 'person/email': 'ann@x', 'person/name': 'Ann' }, { 'db/id': 'bob', 'person/email': 'bob@x' }]);

  it('upserts a tempid through a :db.unique/identity value', () => {
    const r1 = base();
    const r2 = r1.dbAfter.with([{ 'db/id': 'who', 'person/email': 'ann@x', 'person/age': 41 }]);
    expect(r2.tempids.who).toBe(r1.tempids.ann);
    expect(entity(r2.dbAfter, r1.tempids.ann!)).toContainEqual(['person/age', 41]);
  });

  it('upserts a map without :db/id', () => {
    const r1 = base();
    const r2 = r1.dbAfter.with([{ 'person/email': 'ann@x', 'person/name': 'Annie' }]);
    expect(entity(r2.dbAfter, r1.tempids.ann!)).toContainEqual(['person/name', 'Annie']);
  });

  it('unifies tempids that assert the same new identity value', () => {
    const r = peopleDb().with([{ 'db/id': 'a', 'person/email': 'c@x' }, { 'db/id': 'b', 'person/email': 'c@x', 'person/age': 3 }]);
    expect(r.tempids.a).toBe(r.tempids.b);
  });

  it('rejects a tempid that would upsert into two entities', () => {
    const r1 = base();
    expectRejected(r1.dbAfter, [['db/add', 'x', 'person/email', 'ann@x'], ['db/add', 'x', 'person/email', 'bob@x']], 'transact/upsert-conflict');
    const r2 = r1.dbAfter.with([{ 'db/ident': kw('person/handle'), 'db/valueType': kw('db.type/string'), 'db/cardinality': kw('db.cardinality/one'), 'db/unique': kw('db.unique/identity') }]);
    const r3 = r2.dbAfter.with([['db/add', r1.tempids.bob!, 'person/handle', 'bobby']]);
    expectRejected(r3.dbAfter, [['db/add', 'x', 'person/email', 'ann@x'], ['db/add', 'x', 'person/handle', 'bobby']], 'transact/upsert-conflict');
  });

  it('rejects a :db.unique/value conflict instead of upserting', () => {
    const r1 = peopleDb().with([{ 'db/id': 'a', 'person/ssn': '123' }]);
    expectRejected(r1.dbAfter, [{ 'db/id': 'b', 'person/ssn': '123' }], 'transact/unique-conflict');
  });

  it('resolves lookup refs in entity and value positions against db-before', () => {
    const r1 = base();
    const r2 = r1.dbAfter.with([['db/add', [kw('person/email'), 'ann@x'], 'person/friend', ['person/email', 'bob@x']]]);
    expect([...r2.dbAfter.datoms('eavt', r1.tempids.ann!, kw('person/friend'))].map((d) => d.v)).toEqual([r1.tempids.bob]);
    expect(r2.dbAfter.entid([kw('person/email'), 'bob@x'])).toBe(r1.tempids.bob);
  });

  it('rejects a lookup ref to an entity made in the same transaction', () => {
    expectRejected(peopleDb(), [{ 'db/id': 'c', 'person/email': 'c@x' }, ['db/add', [kw('person/email'), 'c@x'], 'person/age', 1]], 'transact/invalid-lookup-ref');
  });

  it('rejects a lookup ref on a non-unique attribute', () => {
    expectRejected(base().dbAfter, [['db/add', [kw('person/name'), 'Ann'], 'person/age', 1]], 'transact/invalid-lookup-ref');
  });
});
