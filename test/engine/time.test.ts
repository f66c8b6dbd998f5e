import { describe, expect, it } from 'vitest';
import { replay } from '../../nodes/tx/replay.ts';
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
    const later = db3.with([{ 'db/id': 'datomic.tx', 'db/txInstant': new Date('2030-06-01T00:00:00Z') }, { 'person/name': 'x' }], { now: new Date('2030-07-01T00:00:00Z') });
    expect(later.txData.find((d) => d.a === db3.attribute(kw('db/txInstant'))!.id)!.v).toEqual(new Date('2030-06-01T00:00:00Z'));
  });

  // Datomic's transaction reference: "you must choose a :db/txInstant value that is not older than
  // any existing transaction, and not newer than the transactor's clock time."
  describe('an explicit :db/txInstant later than the transactor\'s clock (issue 20)', () => {
    const now = new Date('2030-04-01T00:00:00Z');
    const instant = (txData: unknown[], at: Date) => {
      const { db3 } = timeline();
      const r = db3.with(txData, { now: at });
      return r.txData.find((d) => d.e === d.tx && d.a === db3.attribute(kw('db/txInstant'))!.id)!.v;
    };

    it('is refused, the year 2999 as a millisecond past now, and nothing is written', () => {
      const { db3 } = timeline();
      for (const future of [new Date('2999-01-01T00:00:00Z'), new Date(now.getTime() + 1)]) {
        expectError(() => db3.with([{ 'db/id': 'datomic.tx', 'db/txInstant': future }, { 'person/name': 'x' }], { now }), 'transact/tx-instant-in-future');
      }
      expectRejected(db3, [{ 'db/id': 'datomic.tx', 'db/txInstant': new Date('2999-01-01T00:00:00Z') }, { 'person/name': 'x' }], 'transact/tx-instant-in-future');
    });

    it('says what was given and what was expected', () => {
      const { db3 } = timeline();
      expect(() => db3.with([['db/add', 'datomic.tx', 'db/txInstant', new Date('2999-01-01T00:00:00Z')]], { now })).toThrow(
        /2999-01-01T00:00:00.000Z.*later than the transactor's clock, 2030-04-01T00:00:00.000Z.*between the previous transaction's 2030-03-01T00:00:00.000Z and now/,
      );
    });

    it('accepts any instant from the previous transaction\'s to now', () => {
      expect(instant([{ 'db/id': 'datomic.tx', 'db/txInstant': now }], now)).toEqual(now);
      expect(instant([{ 'db/id': 'datomic.tx', 'db/txInstant': new Date('2030-03-01T00:00:00Z') }], now)).toEqual(new Date('2030-03-01T00:00:00Z'));
      // A clock behind the previous transaction: that transaction's instant is "now".
      expect(instant([{ 'db/id': 'datomic.tx', 'db/txInstant': new Date('2030-03-01T00:00:00Z') }], new Date('2030-01-01T00:00:00Z'))).toEqual(new Date('2030-03-01T00:00:00Z'));
    });

    it('keeps asOf and since a Date meaning what they say', () => {
      const { ann, db3 } = timeline();
      const db4 = db3.with([['db/add', ann, 'person/name', 'Ann again']], { now }).dbAfter;
      expect(names(db4.asOf(new Date('2030-03-15T00:00:00Z')), ann)).toEqual([]);
      expect(names(db4.asOf(now), ann)).toEqual(['Ann again']);
    });

    it('still replays a logged transaction whose instant is later than the clock, and later transactions follow it', () => {
      const { db3 } = timeline();
      const future = new Date('2999-01-01T00:00:00Z');
      // Logged before the rule existed, or by a transactor whose clock was ahead.
      const logged = db3.with([{ 'person/name': 'from the future' }], { now: future });
      const replayed = replay(db3, { t: logged.dbAfter.basisT, datoms: logged.txData, nextUserN: logged.dbAfter.state.nextUserN, nextDbN: logged.dbAfter.state.nextDbN });
      expect(replayed.state.lastTxInstantMs).toBe(future.getTime());
      const next = replayed.with([{ 'person/name': 'after' }], { now });
      expect(next.dbAfter.state.lastTxInstantMs).toBe(future.getTime());
      expect(replayed.with([{ 'db/id': 'datomic.tx', 'db/txInstant': future }, { 'person/name': 'same instant' }], { now }).dbAfter.basisT).toBe(replayed.basisT + 1);
    });
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
