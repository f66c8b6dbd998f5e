import { describe, expect, it } from 'vitest';
import { kw } from '../../nodes/values/values.ts';
import { entity, expectRejected, peopleDb } from './fixtures.ts';

describe('assert and retract', () => {
  it('asserts list and map forms, resolving string tempids', () => {
    const db = peopleDb();
    const r = db.with([['db/add', 'ann', 'person/name', 'Ann'], { 'db/id': 'ann', 'person/age': 30 }]);
    const ann = r.tempids.ann!;
    expect(entity(r.dbAfter, ann)).toEqual([['person/name', 'Ann'], ['person/age', 30]]);
    expect(r.dbAfter.basisT).toBe(db.basisT + 1);
  });

  it('replaces a cardinality-one value, retracting the old one', () => {
    const r1 = peopleDb().with([{ 'db/id': 'ann', 'person/name': 'Ann' }]);
    const ann = r1.tempids.ann!;
    const r2 = r1.dbAfter.with([[':db/add', ann, ':person/name', 'Anne']]);
    const facts = r2.txData.filter((d) => d.e === ann).map((d) => [d.v, d.added]);
    expect(facts).toEqual([['Ann', false], ['Anne', true]]);
    expect(entity(r2.dbAfter, ann)).toEqual([['person/name', 'Anne']]);
  });

  it('eliminates redundant assertions', () => {
    const r1 = peopleDb().with([{ 'db/id': 'ann', 'person/name': 'Ann', 'person/aliases': ['A', 'Annie'] }]);
    const ann = r1.tempids.ann!;
    const r2 = r1.dbAfter.with([{ 'db/id': ann, 'person/name': 'Ann', 'person/aliases': ['A'] }]);
    expect(r2.txData.filter((d) => d.e === ann)).toEqual([]);
  });

  it('adds cardinality-many values from arrays and retracts one value or all', () => {
    const r1 = peopleDb().with([{ 'db/id': 'ann', 'person/aliases': ['A', 'B', 'C'] }]);
    const ann = r1.tempids.ann!;
    const r2 = r1.dbAfter.with([['db/retract', ann, 'person/aliases', 'B']]);
    expect(entity(r2.dbAfter, ann)).toEqual([['person/aliases', 'A'], ['person/aliases', 'C']]);
    const r3 = r2.dbAfter.with([['db/retract', ann, 'person/aliases']]);
    expect(entity(r3.dbAfter, ann)).toEqual([]);
  });

  it('treats a retraction of an absent fact as a no-op', () => {
    const r1 = peopleDb().with([{ 'db/id': 'ann', 'person/name': 'Ann' }]);
    const r2 = r1.dbAfter.with([['db/retract', r1.tempids.ann!, 'person/name', 'Bob']]);
    expect(r2.txData.length).toBe(1); // only :db/txInstant
  });

  it('rejects two values for a cardinality-one attribute in one transaction', () => {
    expectRejected(peopleDb(), [{ 'db/id': 'a', 'person/name': 'A' }, ['db/add', 'a', 'person/name', 'B']], 'transact/cardinality-conflict');
  });

  it('rejects asserting and retracting the same fact', () => {
    const r1 = peopleDb().with([{ 'db/id': 'ann', 'person/aliases': ['A'] }]);
    const ann = r1.tempids.ann!;
    expectRejected(r1.dbAfter, [['db/retract', ann, 'person/aliases', 'A'], ['db/add', ann, 'person/aliases', 'A']], 'transact/datom-conflict');
  });

  it('resolves idents as ref values (enums)', () => {
    const r = peopleDb().with([{ 'db/id': 'x', 'person/color': kw('color/red') }]);
    const red = r.dbAfter.entid(kw('color/red'));
    expect(entity(r.dbAfter, r.tempids.x!)).toEqual([['person/color', red]]);
  });

  it('creates nested component entities and reverse refs', () => {
    const r = peopleDb().with([
      { 'db/id': 'ann', 'person/name': 'Ann', 'person/address': { 'address/street': 'Main St' } },
      { 'db/id': 'bob', 'person/name': 'Bob', 'person/_friend': ['ann'] },
    ]);
    const { ann, bob } = r.tempids as { ann: number; bob: number };
    const address = entity(r.dbAfter, ann).find(([a]) => a === 'person/address')![1] as number;
    expect(entity(r.dbAfter, address)).toEqual([['address/street', 'Main St']]);
    expect([...r.dbAfter.datoms('eavt', ann, kw('person/friend'))].map((d) => d.v)).toEqual([bob]);
  });

  it('rejects a nested map that nothing could reach', () => {
    expectRejected(peopleDb(), [{ 'db/id': 'ann', 'person/spouse': { 'person/name': 'Nobody' } }], 'transact/unreachable-entity');
  });

  it('adds transaction metadata through "datomic.tx"', () => {
    const r = peopleDb().with([{ 'db/id': 'ann', 'person/name': 'Ann' }, { 'db/id': 'datomic.tx', 'db/doc': 'import' }]);
    expect(r.tempids['datomic.tx']).toBe(r.txData[0]!.tx);
    expect([...r.dbAfter.datoms('eavt', r.tempids['datomic.tx']!, kw('db/doc'))].map((d) => d.v)).toEqual(['import']);
  });

  it('rejects a tempid used only as a value', () => {
    expectRejected(peopleDb(), [{ 'db/id': 'ann', 'person/name': 'Ann', 'person/spouse': 'ghost' }], 'transact/unresolved-tempid');
  });

  it('never changes the db value it was applied to', () => {
    const db = peopleDb();
    const before = [...db.datoms('eavt')];
    db.with([{ 'person/name': 'Ann', 'person/email': 'ann@x' }]);
    db.with([{ 'person/name': 'Bob', 'person/email': 'bob@x' }]);
    expect([...db.datoms('eavt')]).toEqual(before);
  });
});
