import { describe, expect, it } from 'vitest';
import { kw } from '../../nodes/values/values.ts';
import { expectError, expectRejected, peopleDb } from './fixtures.ts';

describe('time: asOf, since, history, txInstant', () => {
  const timeline = () => {
    const db0 = peopleDb();
    const r1 = db0.with([{ 'db/id': 'ann', 'person/email': 'ann@x', 'person/name': 'Ann' }], { now: new Date('2030-01-01T00:00:00Z') });
    const ann = r1.tempids.ann!;
    const r2 = r1.dbAfter.with([['db/add', ann, 'person/name', 'Anne']], { now: new Date('2030-02-01T00:00:00Z') });
    const r3 = r2.dbAfter.with([['db/retract', ann, 'person/name', 'Anne']], { now: new Date('2030-03-01T00:00:00Z') });
    return { db0, ann, db1: r1.dbAfter, db2: r2.dbAfter, db3: r3.dbAfter };
  };
  const names = (db: ReturnType<typeof peopleDb>, e: number) => [...db.datoms('eavt', e, kw('person/name'))].map((d) => d.v);

  it('asOf sees the past', () => {
    const { ann, db1, db2, db3 } = timeline();
    expect(names(db3, ann)).toEqual([]);
    expect(names(db3.asOf(db1.basisT), ann)).toEqual(['Ann']);
    expect(names(db3.asOf(db2.basisT), ann)).toEqual(['Anne']);
    expect(names(db3.asOf(new Date('2030-01-15T00:00:00Z')), ann)).toEqual(['Ann']);
    expect(names(db3.asOf(new Date('2029-12-01T00:00:00Z')), ann)).toEqual([]);
  });

  it('since sees only what was added after t', () => {
    const { ann, db1, db2 } = timeline();
    expect(names(db2.since(db1.basisT), ann)).toEqual(['Anne']);
    expect([...db2.since(db1.basisT).datoms('eavt', ann, kw('person/email'))]).toEqual([]);
  });

  it('history holds every assertion and retraction in time order', () => {
    const { ann, db3 } = timeline();
    const h = [...db3.history().datoms('eavt', ann, kw('person/name'))].map((d) => [d.v, d.added]);
    expect(h).toEqual([['Ann', true], ['Ann', false], ['Anne', true], ['Anne', false]]);
  });

  it('reifies transactions with :db/txInstant and refuses instants that go back', () => {
    const { db1, db3 } = timeline();
    const tx = [...db1.datoms('aevt', kw('db/txInstant'))].at(-1)!;
    expect(tx.v).toEqual(new Date('2030-01-01T00:00:00Z'));
    expectRejected(db3, [{ 'db/id': 'datomic.tx', 'db/txInstant': new Date('2025-06-01T00:00:00Z') }, { 'person/name': 'x' }], 'transact/tx-instant-in-past');
    const later = db3.with([{ 'db/id': 'datomic.tx', 'db/txInstant': new Date('2030-06-01T00:00:00Z') }, { 'person/name': 'x' }]);
    expect(later.txData.find((d) => d.a === db3.attribute(kw('db/txInstant'))!.id)!.v).toEqual(new Date('2030-06-01T00:00:00Z'));
  });

  it('rejects invalid t values', () => {
    const { db3 } = timeline();
    expectError(() => db3.asOf(-1), 'db/invalid-t');
    expectError(() => db3.since(new Date('nope')), 'db/invalid-t');
  });

  it('with chains speculative transactions', () => {
    const { db1, ann } = timeline();
    const r = db1.with([['db/add', ann, 'person/age', 1]]).dbAfter.with([['db/add', ann, 'person/age', 2]]);
    expect([...r.dbAfter.datoms('eavt', ann, kw('person/age'))].map((d) => d.v)).toEqual([2]);
    expect([...db1.datoms('eavt', ann, kw('person/age'))]).toEqual([]);
  });
});
