import { describe, expect, it } from 'vitest';
import { readEdn } from '../edn/reader.ts';
import { q } from './index.ts';
import { sorted, world } from './test-support.ts';

/** Ann's age goes 30 → 31 → 32 across three transactions. */
function aging() {
  const { db: db1, ids } = world('[{:db/id "ann" :person/name "Ann" :person/age 30}]');
  const report2 = db1.with(readEdn(`[[:db/add ${ids.ann} :person/age 31]]`));
  const report3 = report2.dbAfter.with(readEdn(`[[:db/add ${ids.ann} :person/age 32]]`));
  return { db1, db2: report2.dbAfter, db3: report3.dbAfter, t1: db1.basisT, t2: report2.dbAfter.basisT };
}

describe('history and time', () => {
  const { db1, db3, t1, t2 } = aging();
  it('sees only the current value on a plain db', () => {
    expect(q('[:find [?a ...] :where [_ :person/age ?a]]', db3)).toEqual([32]);
  });
  it('sees every assertion and retraction with ?tx ?added on a history db', () => {
    const rows = q('[:find ?a ?added :where [_ :person/age ?a _ ?added]]', db3.history());
    expect(sorted(rows)).toEqual([[30, false], [30, true], [31, false], [31, true], [32, true]]);
  });
  it('binds the transaction and joins it to its instant', () => {
    const rows = q('[:find ?a ?inst :where [_ :person/age ?a ?tx true] [?tx :db/txInstant ?inst]]', db3.history()) as [number, Date][];
    expect(rows).toHaveLength(3);
    for (const [, inst] of rows) expect(inst).toBeInstanceOf(Date);
  });
  it('filters by a constant added flag', () => {
    expect(sorted(q('[:find [?a ...] :where [_ :person/age ?a _ false]]', db3.history()))).toEqual([30, 31]);
  });
  it('queries asOf and since views', () => {
    expect(q('[:find [?a ...] :where [_ :person/age ?a]]', db3.asOf(t1))).toEqual([30]);
    expect(q('[:find [?a ...] :where [_ :person/age ?a]]', db3.asOf(t2))).toEqual([31]);
    expect(q('[:find [?a ...] :where [_ :person/age ?a]]', db3.since(t2))).toEqual([32]);
    expect(q('[:find [?n ...] :where [_ :person/name ?n]]', db3.since(t1))).toEqual([]);
  });
  it('joins a past db with the current one', () => {
    expect(q('[:find ?old ?new :in $old $new :where [$old ?e :person/age ?old] [$new ?e :person/age ?new]]', db1, db3)).toEqual([[30, 32]]);
  });
  it('binds the transaction of a plain db pattern', () => {
    const tx = q('[:find ?tx . :where [_ :person/age 32 ?tx]]', db3) as number;
    expect(q('[:find ?a . :in $ ?tx :where [_ :person/age ?a ?tx]]', db3, tx)).toBe(32);
  });
});
