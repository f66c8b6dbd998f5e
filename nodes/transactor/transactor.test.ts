import { describe, expect, it } from 'vitest';
import { createMemoryStorage } from '../storage/memory/memory-storage.ts';
import { withFaults } from '../storage/fault.ts';
import { FactumError, isFactumError } from '../util/errors.ts';
import type { Db } from '../db/db.ts';
import { kw } from '../values/values.ts';
import { controlledAppends as controlledStorage, gate } from '../storage/controlled-appends.ts';
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

  it('sync(t) leaks no waiter: an aborted wait is answered at once and forgotten; a normal one still resolves', async () => {
    const t = await Transactor.open(createMemoryStorage(), 'db-x');
    await t.transact(schema);
    const far = 2 ** 52;
    const errors: unknown[] = [];
    for (let i = 0; i < 1000; i++) {
      const controller = new AbortController();
      t.sync(far, { signal: controller.signal }).catch((error: unknown) => errors.push(error));
      controller.abort(i % 2 === 0 ? new Error(`gave up ${i}`) : 'gave up'); // an Error reason, or not
    }
    const already = AbortSignal.abort(new Error('before'));
    t.sync(far, { signal: already }).catch((error: unknown) => errors.push(error));
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors.length).toBe(1001);
    expect((errors[0] as Error).message).toBe('gave up 0');
    expect(isFactumError(errors[1], 'db/basis-not-reached')).toBe(true);
    expect((errors[1] as FactumError).data).toMatchObject({ database: 'db-x', t: far, basisT: 1 });
    expect((errors[1000] as Error).message).toBe('before');
    expect(t.syncWaiterCount).toBe(0);
    // A wait with a signal that is not aborted resolves, and a later abort changes nothing.
    const controller = new AbortController();
    const waiting = t.sync(2, { signal: controller.signal });
    const plain = t.sync(3);
    expect(t.syncWaiterCount).toBe(2);
    await t.transact([{ 'item/sku': 'A' }]);
    expect((await waiting).basisT).toBe(2);
    controller.abort();
    await t.transact([{ 'item/sku': 'B' }]);
    expect((await plain).basisT).toBe(3);
    expect(t.syncWaiterCount).toBe(0);
    await t.close();
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

/** Lets every pending microtask and I/O callback run (the writer processes a queued batch in them). */
/** Whether `promise` has settled yet (either way), read without awaiting it. */
function tracked(promise: Promise<unknown>): () => boolean {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  return () => settled;
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A transactor on controlled storage with the schema (append 1) and one item, A with count 1 (append 2), the writer idle. */
async function withItem(control: (n: number) => Promise<'ok' | 'fail'>) {
  const controlled = controlledStorage(control);
  const t = await Transactor.open(controlled.storage, 'db-x', { indexing: false });
  await t.transact(schema);
  const e = (await t.transact([{ 'db/id': 'x', 'item/sku': 'A', 'item/count': 1 }])).tempids['x']!;
  await settle();
  return { ...controlled, t, e };
}

const countOf = (db: Db, e: number): unknown[] => [...db.datoms('eavt', e, kw('item/count'))].map((d) => d.v);

describe('the pipelined writer', () => {
  it('answers a batch processed during a write only once that write is durable, and processes it again when it is not', async () => {
    const held = gate();
    const { storage, t, e, entered } = await withItem(async (n) => (n === 3 ? (await held.promise, 'fail') : 'ok'));
    // A sets the count to 2; B, queued while A is written, is processed against A's result, where
    // its compare-and-swap from 1 fails. A's write fails: B must meet the durable count, 1.
    const a = t.transact([['db/add', e, 'item/count', 2]]);
    const b = t.transact([['db/cas', e, 'item/count', 1, 3]]);
    const bSettled = tracked(b);
    await entered(3);
    await settle();
    expect(bSettled()).toBe(false); // processed (and refused) against A's result, but not answered
    held.open();
    await expect(a).rejects.toMatchObject({ code: 'storage/unavailable' });
    expect(countOf((await b).dbAfter, e)).toEqual([3]);
    const reopened = await Transactor.open(storage, 'db-x', { indexing: false });
    expect(countOf(reopened.db(), e)).toEqual([3]);
    expect(reopened.db().basisT).toBe(t.db().basisT);
  });

  it('processes again a transaction refused next to one whose write failed (group commit)', async () => {
    const held = gate();
    const { t, e } = await withItem(async (n) => (n === 4 ? (await held.promise, 'fail') : 'ok'));
    const first = t.transact([{ 'item/sku': 'B' }]); // a batch of its own (append 3), written first
    // Queued together while the first is written: one batch (append 4), B after A, B refused by A's change.
    const a = t.transact([['db/add', e, 'item/count', 2]]);
    const b = t.transact([['db/cas', e, 'item/count', 1, 3]]);
    await first;
    held.open();
    await expect(a).rejects.toMatchObject({ code: 'storage/unavailable' });
    expect(countOf((await b).dbAfter, e)).toEqual([3]);
  });

  it('answers a refusal made during a write once that write is durable', async () => {
    const held = gate();
    const { t, e, entered } = await withItem(async (n) => (n === 3 ? (await held.promise, 'ok') : 'ok'));
    const a = t.transact([['db/add', e, 'item/count', 2]]);
    const b = t.transact([['db/cas', e, 'item/count', 1, 3]]); // against A's result: refused
    const bSettled = tracked(b);
    await entered(3);
    await settle();
    expect(bSettled()).toBe(false);
    held.open();
    await expect(a).resolves.toBeDefined();
    await expect(b).rejects.toMatchObject({ code: 'transact/cas-failed' });
    expect(countOf(t.db(), e)).toEqual([2]);
  });

  it('writes nothing processed during a write once close() is called, and answers it with client/closed', async () => {
    const held = gate();
    const { t, appends, entered } = await withItem(async (n) => (n === 3 ? (await held.promise, 'ok') : 'ok'));
    const a = t.transact([{ 'item/sku': 'C' }]); // append 3, held
    const b = t.transact([{ 'item/sku': 'D' }]); // processed while C is written
    await entered(3);
    await settle();
    await t.close();
    held.open();
    await expect(a).resolves.toBeDefined();
    await expect(b).rejects.toMatchObject({ code: 'client/closed' });
    expect(appends()).toBe(3);
  });

  it('answers a batch sent back after close() with client/closed', async () => {
    const held = gate();
    const { t, entered } = await withItem(async (n) => (n === 3 ? (await held.promise, 'fail') : 'ok'));
    const a = t.transact([{ 'item/sku': 'C' }]);
    const b = t.transact([{ 'item/sku': 'D' }]); // processed while C is written
    await entered(3);
    await settle();
    const closing = t.close();
    held.open();
    await expect(a).rejects.toMatchObject({ code: 'storage/unavailable' });
    await expect(b).rejects.toMatchObject({ code: 'client/closed' });
    await closing;
  });

  it('answers every transaction when a fence comes while the batch after a failed write is processed', async () => {
    const [z, ab] = [gate(), gate()];
    const { t, e } = await withItem(async (n) => (n === 3 ? (await z.promise, 'ok') : n === 4 ? (await ab.promise, 'fail') : 'ok'));
    // Processing the batch after [A, B] takes a while (as segment loads do); meanwhile the write
    // of [A, B] fails and the connection is fenced (as when another process moves the index root).
    const internals = t as unknown as { prepare: (...args: unknown[]) => Promise<unknown>; fenced: unknown };
    const prepare = internals.prepare.bind(t);
    let calls = 0;
    let aFailed: Promise<unknown> = Promise.resolve();
    internals.prepare = async (...args: unknown[]) => {
      const result = await prepare(...args);
      if (++calls === 3) {
        ab.open();
        await aFailed;
        internals.fenced = new FactumError('storage/conflict', 'another process moved the root (simulated)', {});
      }
      return result;
    };
    const first = t.transact([{ 'item/sku': 'Z' }]); // its own batch (append 3), its write held
    const a = t.transact([['db/add', e, 'item/count', 2]]);
    const b = t.transact([['db/cas', e, 'item/count', 1, 3]]); // with A while Z is written: refused against A
    aFailed = a.catch(() => undefined);
    await settle();
    const c = t.transact([{ 'item/sku': 'C' }]); // the batch after [A, B]
    z.open();
    await first;
    await expect(a).rejects.toMatchObject({ code: 'storage/unavailable' });
    await expect(b).rejects.toMatchObject({ code: 'storage/conflict' });
    await expect(c).rejects.toMatchObject({ code: 'storage/conflict' });
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
