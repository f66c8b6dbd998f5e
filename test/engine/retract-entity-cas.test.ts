import { describe, expect, it } from 'vitest';
import { kw } from '../../nodes/values/values.ts';
import { entity, expectRejected, peopleDb } from './fixtures.ts';

describe(':db/retractEntity', () => {
  it('retracts the entity, its components recursively, and refs to it', () => {
    const r1 = peopleDb().with([
      { 'db/id': 'ann', 'person/email': 'ann@x', 'person/address': { 'address/street': 'Main' } },
      { 'db/id': 'bob', 'person/email': 'bob@x', 'person/friend': ['ann'] },
    ]);
    const { ann, bob } = r1.tempids as { ann: number; bob: number };
    const address = [...r1.dbAfter.datoms('eavt', ann, kw('person/address'))][0]!.v as number;
    const r2 = r1.dbAfter.with([['db/retractEntity', [kw('person/email'), 'ann@x']]]);
    expect(entity(r2.dbAfter, ann)).toEqual([]);
    expect(entity(r2.dbAfter, address)).toEqual([]);
    expect(entity(r2.dbAfter, bob)).toEqual([['person/email', 'bob@x']]);
  });

  it('rejects a lookup ref that names nothing', () => {
    expectRejected(peopleDb(), [['db/retractEntity', [kw('person/email'), 'none@x']]], 'transact/invalid-lookup-ref');
  });
});

describe(':db/cas', () => {
  const base = () => peopleDb().with([{ 'db/id': 'ann', 'person/email': 'ann@x', 'person/age': 30 }]);

  it('swaps when the current value matches', () => {
    const r1 = base();
    const r2 = r1.dbAfter.with([['db/cas', r1.tempids.ann!, 'person/age', 30, 31]]);
    expect(entity(r2.dbAfter, r1.tempids.ann!)).toContainEqual(['person/age', 31]);
  });

  it('treats nil as "no value yet"', () => {
    const r1 = base();
    const r2 = r1.dbAfter.with([['db/cas', r1.tempids.ann!, 'person/name', null, 'Ann']]);
    expect(entity(r2.dbAfter, r1.tempids.ann!)).toContainEqual(['person/name', 'Ann']);
    expectRejected(r2.dbAfter, [['db/cas', r1.tempids.ann!, 'person/name', null, 'X']], 'transact/cas-failed');
  });

  it('fails when the value differs, and sees db-before', () => {
    const r1 = base();
    expectRejected(r1.dbAfter, [['db/cas', r1.tempids.ann!, 'person/age', 29, 31]], 'transact/cas-failed');
    // the retraction in the same transaction does not affect the cas (db-before)
    const r2 = r1.dbAfter.with([['db/retract', r1.tempids.ann!, 'person/age', 30], ['db/cas', r1.tempids.ann!, 'person/age', 30, 32]]);
    expect(entity(r2.dbAfter, r1.tempids.ann!)).toContainEqual(['person/age', 32]);
  });

  it('is only for cardinality-one attributes', () => {
    expectRejected(base().dbAfter, [['db/cas', [kw('person/email'), 'ann@x'], 'person/aliases', null, 'A']], 'transact/malformed');
  });
});
