import { describe, expect, it } from 'vitest';
import { createMemoryStorage } from '../storage/memory/memory-storage.ts';
import { withFaults } from '../storage/fault.ts';
import { isFactumError } from '../util/errors.ts';
import { kw } from '../values/values.ts';
import { Transactor } from './transactor.ts';
import { System } from './system.ts';

const schema = [
  { 'db/ident': kw('item/sku'), 'db/valueType': kw('db.type/string'), 'db/cardinality': kw('db.cardinality/one'), 'db/unique': kw('db.unique/identity') },
  { 'db/ident': kw('item/count'), 'db/valueType': kw('db.type/long'), 'db/cardinality': kw('db.cardinality/one') },
];
const skus = (t: Transactor) => [...t.db().datoms('avet', kw('item/sku'))].map((d) => d.v);

describe('transactor', () => {
  it('acknowledges transactions after the log write and replays them on open', async () => {
    const storage = createMemoryStorage();
    const t1 = await Transactor.open(storage, 'db-x');
    await t1.transact(schema);
    const r = await t1.transact([{ 'item/sku': 'A', 'item/count': 1 }]);
    expect(r.dbAfter.basisT).toBe(2);
    expect(await storage.logLength('db-x')).toBe(2);
    const t2 = await Transactor.open(storage, 'db-x');
    expect(skus(t2)).toEqual(['A']);
    expect([...t2.db().datoms('eavt')]).toEqual([...t1.db().datoms('eavt')]);
  });

  it('group-commits concurrent transactions into fewer log entries, each answered on its own', async () => {
    const storage = createMemoryStorage();
    const t = await Transactor.open(storage, 'db-x');
    await t.transact(schema);
    const results = await Promise.allSettled(
      Array.from({ length: 16 }, (_, i) => t.transact(i === 5 ? [{ 'item/sku': 3 }] : [{ 'item/sku': `S${i}` }])),
    );
    expect(results.filter((x) => x.status === 'fulfilled').length).toBe(15);
    const rejected = results[5] as PromiseRejectedResult;
    expect(isFactumError(rejected.reason, 'value/wrong-type')).toBe(true);
    expect(await storage.logLength('db-x')).toBeLessThan(16);
    expect(skus(t).length).toBe(15);
    const reopened = await Transactor.open(storage, 'db-x');
    expect(skus(reopened)).toEqual(skus(t));
  });

  it('serves the log with txRange and waits in sync', async () => {
    const t = await Transactor.open(createMemoryStorage(), 'db-x');
    await t.transact(schema);
    const later = t.sync(3);
    await t.transact([{ 'item/sku': 'A' }]);
    await t.transact([{ 'item/sku': 'B' }]);
    expect((await later).basisT).toBeGreaterThanOrEqual(3);
    const range = [];
    for await (const entry of t.txRange(2, 4)) range.push([entry.t, entry.data.filter((d) => d.a !== 15).map((d) => d.v)]);
    expect(range).toEqual([[2, ['A']], [3, ['B']]]);
  });

  it('is fenced when another writer takes its log position', async () => {
    const storage = createMemoryStorage();
    const a = await Transactor.open(storage, 'db-x');
    const b = await Transactor.open(storage, 'db-x');
    await a.transact(schema);
    await expect(b.transact(schema)).rejects.toMatchObject({ code: 'storage/conflict' });
    await expect(b.transact([{ 'item/sku': 'Z' }])).rejects.toMatchObject({ code: 'storage/conflict' });
    expect(b.db().basisT).toBe(0);
  });

  it('acknowledges nothing whose write failed, and counts a write that failed after it happened', async () => {
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const storage = withFaults(createMemoryStorage(), { seed, failRate: 0.2, failAfterWriteRate: 0.2, operations: ['appendLog'] });
      const t = await Transactor.open(storage, 'db-x');
      storage.faults.enabled = false;
      await t.transact(schema);
      storage.faults.enabled = true;
      const acknowledged: string[] = [];
      await Promise.allSettled(
        Array.from({ length: 30 }, (_, i) => t.transact([{ 'item/sku': `S${i}` }]).then(() => acknowledged.push(`S${i}`))),
      );
      storage.faults.enabled = false;
      const reopened = await Transactor.open(storage, 'db-x');
      // Every acknowledged transaction is durable, and the live db equals the durable one.
      expect(skus(reopened)).toEqual(expect.arrayContaining(acknowledged));
      expect(skus(reopened).sort()).toEqual([...acknowledged].sort());
      expect(skus(t).sort()).toEqual([...acknowledged].sort());
    }
  });
});

describe('system catalog', () => {
  it('creates, lists, connects and deletes databases', async () => {
    const storage = createMemoryStorage();
    const system = new System(storage);
    expect(await system.createDatabase('a')).toBe(true);
    expect(await system.createDatabase('a')).toBe(false);
    expect(await system.createDatabase('b')).toBe(true);
    expect(await system.listDatabases()).toEqual(['a', 'b']);
    const t = await system.connect('a');
    await t.transact(schema);
    await t.indexNow(); // a root and segments, which deleting removes too
    const segments = async (): Promise<string[]> => {
      const keys: string[] = [];
      for await (const key of storage.listSegments('segments/')) keys.push(key);
      return keys;
    };
    expect((await segments()).length).toBeGreaterThan(0);
    expect(await system.deleteDatabase('a')).toBe(true);
    expect(await segments()).toEqual([]);
    expect(await system.listDatabases()).toEqual(['b']);
    await expect(system.connect('a')).rejects.toMatchObject({ code: 'catalog/database-not-found' });
    await system.createDatabase('a');
    expect((await system.connect('a')).db().basisT).toBe(0);
    await expect(system.createDatabase('no spaces')).rejects.toMatchObject({ code: 'catalog/invalid-name' });
  });
});
