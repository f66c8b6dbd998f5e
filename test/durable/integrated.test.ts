// Durable indexes wired into db values: a transactor that indexes in the background (tiny
// thresholds, so index runs and rebases happen all the time) must answer exactly as one that
// keeps every datom in memory, in every view, for datoms, counts, queries and pull; and a
// database reopened from its root and the log after it must be the same database.
import { describe, expect, it } from 'vitest';
import type { Db } from '../../nodes/db/db.ts';
import { readDb } from '../../nodes/db/durable-base.ts';
import { IoContext } from '../../nodes/cache/io-stats.ts';
import { Transactor } from '../../nodes/transactor/transactor.ts';
import { createMemoryStorage } from '../../nodes/storage/memory/memory-storage.ts';
import type { Storage } from '../../nodes/storage/protocol.ts';
import { seededRandom } from '../../nodes/util/random.ts';
import { kw, sym } from '../../nodes/values/values.ts';
import { registerEntityPredicate, registerTxFunction } from '../../nodes/tx/functions.ts';
import { query } from '../../nodes/query/index.ts';
import { pull } from '../../nodes/pull/index.ts';
import { isFactumError } from '../../nodes/util/errors.ts';
import { withFaults } from '../../nodes/storage/fault.ts';
import { createClient } from '../../client/index.ts';
import { indexes, nextTxData, project, schemaTx } from './workload.ts';

const indexing = { noveltyBytesMax: 3_000, backPressureBytes: 1_000_000_000, leafMax: 16, branchMax: 8, tier0Max: 60 };
const epoch = Date.UTC(2026, 0, 1);

function read<T>(db: Db, reader: () => T): Promise<T> {
  return readDb(db.state.base, reader);
}

/** Every view's datoms, counts, a query and pulls of `db`, as plain data to compare. */
async function snapshot(db: Db, random: () => number): Promise<unknown> {
  const t = db.basisT;
  const pastT = 1 + Math.floor(random() * t);
  const views: Array<[string, Db]> = [
    ['plain', db],
    [`asOf ${pastT}`, db.asOf(pastT)],
    [`since ${pastT}`, db.since(pastT)],
    ['history', db.history()],
    [`history asOf ${pastT}`, db.history().asOf(pastT)],
    // Two transactions share each instant (withInstant): between instants, and exactly at one.
    [`asOf instant ${pastT}`, db.asOf(new Date(epoch + pastT * 500 + 250))],
    [`asOf instant exactly ${pastT}`, db.asOf(new Date(epoch + Math.floor(pastT / 2) * 1000))],
    [`since instant ${pastT}`, db.since(new Date(epoch + Math.floor(pastT / 2) * 1000))],
    ['asOf instant before all', db.asOf(new Date(epoch - 1))],
  ];
  const out: Record<string, unknown> = {};
  for (const [name, view] of views) {
    for (const index of indexes) out[`${name} ${index}`] = await read(view, () => [...view.datoms(index)].map(project));
    out[`${name} ages`] = await read(view, () => [...view.indexRange(kw('person/age'), 20, 60)].map(project));
  }
  out.counts = await read(db, () => indexes.map((index) => db.count(index)));
  out.stats = await read(db, () => db.stats());
  out.query = await read(db, () =>
    query({
      query: '[:find ?n ?a :where [?p :person/name ?n] [?p :person/age ?a] (not [?p :person/tag :tag/b])]',
      args: [db],
    }),
  );
  const people = await read(db, () => [...db.datoms('aevt', kw('person/name'))].map((d) => d.e));
  out.pulls = await read(db, () => people.slice(0, 20).map((e) => pull(db, '[* {:person/friend [:person/name]} {:person/_friend [:db/id]}]', e)));
  return out;
}

async function submit(transactor: Transactor, txData: unknown[]): Promise<string> {
  try {
    const report = await transactor.transact(txData);
    return `ok ${report.dbAfter.basisT}`;
  } catch (error) {
    if (isFactumError(error)) return error.code;
    throw error;
  }
}

function withInstant(txData: unknown[], t: number): unknown[] {
  return [...txData, ['db/add', 'datomic.tx', 'db/txInstant', new Date(epoch + Math.floor(t / 2) * 1000)]];
}

describe('durable indexes under db values', () => {
  it.each([
    [7, false],
    [8, false],
    [9, false],
    [10, true],
  ])('answers exactly as the memory engine through index runs, rebases and a reopen (seed %i, index worker %s)', async (seedOfRun, worker) => {
    const random = seededRandom(seedOfRun);
    const memory = await Transactor.open(createMemoryStorage(), 'db', { indexing: false });
    const inner = createMemoryStorage();
    const logReads: number[] = [];
    const storage: Storage = Object.assign(Object.create(inner) as Storage, {
      readLog: (log: string, start: number, end?: number) => {
        logReads.push(start);
        return inner.readLog(log, start, end);
      },
    });
    let durable = await Transactor.open(storage, 'db', { indexing: { ...indexing, worker } });
    expect(await submit(durable, withInstant(schemaTx, 1))).toBe(await submit(memory, withInstant(schemaTx, 1)));
    let rebased = 0;
    for (let i = 0; i < 240; i++) {
      const db = durable.db();
      const txData = await read(db, () => nextTxData(random, db));
      const t = db.basisT + 1;
      expect(await submit(durable, withInstant(txData, t))).toBe(await submit(memory, withInstant(txData, t)));
      if (durable.db().state.base !== null) rebased++;
      if (i % 40 === 39) {
        const seed = Math.floor(random() * 1e9);
        expect(await snapshot(durable.db(), seededRandom(seed))).toEqual(await snapshot(memory.db(), seededRandom(seed)));
      }
      if (i === 150) {
        await durable.close();
        logReads.length = 0;
        durable = await Transactor.open(storage, 'db', { indexing: { ...indexing, worker } });
        expect(durable.db().state.base).not.toBeNull();
        // Opening read the log after the root only, never the whole history.
        const root = durable.indexing!.indexer.root!;
        expect(root.logPosition).toBeGreaterThan(100);
        expect(logReads).toEqual([root.logPosition]);
        expect(durable.db().basisT).toBe(memory.db().basisT);
      }
    }
    expect(rebased).toBeGreaterThan(20); // many transactions ran on a durable base
    await durable.indexNow();
    expect(durable.db().state.tableLength).toBe(0); // everything indexed: no novelty in memory
    const seed = 99;
    expect(await snapshot(durable.db(), seededRandom(seed))).toEqual(await snapshot(memory.db(), seededRandom(seed)));
    await durable.close();
  });

  it('opens exactly from a root that covers part of a group-committed log entry', async () => {
    // Root swaps can be made to fail from some point on, as if the process died right after the
    // last one that succeeded.
    const inner = createMemoryStorage();
    let swapsLeft = Number.POSITIVE_INFINITY;
    const storage: Storage = Object.assign(Object.create(inner) as Storage, {
      casRecord: (key: string, version: number | null, bytes: Uint8Array) => {
        if (key.startsWith('root/') && swapsLeft-- <= 0) return Promise.reject(new Error('injected: the process is gone'));
        return inner.casRecord(key, version, bytes);
      },
    });
    const memory = await Transactor.open(createMemoryStorage(), 'db', { indexing: false });
    // A transaction below is ~750 estimated bytes: the sixth passes the threshold.
    const durable = await Transactor.open(storage, 'db', { indexing: { ...indexing, noveltyBytesMax: 4_000 } });
    await durable.transact(schemaTx);
    await memory.transact(schemaTx);
    await durable.indexNow();
    swapsLeft = 1;
    // The first is written alone; the other eleven queue behind it and form one log entry, and
    // indexing (idle) starts a run when the sixth transaction is handed over: mid-entry.
    const txs = Array.from({ length: 12 }, (_, i) => [{ 'person/name': `P${i}`, 'person/age': i }]);
    await Promise.all(txs.map((tx) => durable.transact(tx)));
    await Promise.all(txs.map((tx) => memory.transact(tx)));
    await durable.indexing!.background.idle();
    const root = durable.indexing!.indexer.root!;
    expect(root.t).toBeGreaterThan(2);
    expect(root.t).toBeLessThan(memory.db().basisT); // the run covered part of the entry
    const reopened = await Transactor.open(inner, 'db', { indexing: { ...indexing, noveltyBytesMax: 1e9 } });
    expect(reopened.db().state.base).not.toBeNull();
    expect(reopened.db().basisT).toBe(memory.db().basisT);
    // Every datom but the transactions' instants (wall-clock time, different on each side).
    const all = async (db: Db): Promise<unknown> => read(db, () => [...db.datoms('eavt')].filter((d) => d.e !== d.tx).map(project));
    expect(await all(reopened.db())).toEqual(await all(memory.db()));
    await reopened.close();
    await durable.close();
  });

  it('loads segments for lookup refs, query functions, transaction functions and entity predicates that read a cold base', async () => {
    // Only the trees' roots are in memory after reopening; every read below needs more.
    const options = { indexing: { noveltyBytesMax: 1e9, backPressureBytes: 1e10, leafMax: 4, branchMax: 4, tier0Max: 1000 } };
    const storage = createMemoryStorage();
    let transactor = await Transactor.open(storage, 'db', options);
    // Every instant explicit and in the past: a txInstant later than the transactor's clock is refused.
    const later = Date.now() - 3_600_000;
    await transactor.transact([
      { 'db/ident': kw('item/sku'), 'db/valueType': kw('db.type/string'), 'db/cardinality': kw('db.cardinality/one'), 'db/unique': kw('db.unique/identity') },
      { 'db/ident': kw('item/stock'), 'db/valueType': kw('db.type/long'), 'db/cardinality': kw('db.cardinality/one') },
      ['db/add', 'datomic.tx', 'db/txInstant', new Date(later - 2000)],
    ]);
    await transactor.transact([{ 'db/ident': kw('spec/item'), 'db.entity/attrs': [kw('item/sku')], 'db.entity/preds': [sym('test.cold/stocked')] }, ['db/add', 'datomic.tx', 'db/txInstant', new Date(later - 1000)]]);
    for (let i = 0; i < 50; i++) await transactor.transact([{ 'item/sku': `S${i}`, 'item/stock': i }, ['db/add', 'datomic.tx', 'db/txInstant', new Date(later + i * 1000)]]);
    await transactor.indexNow();
    await transactor.close();
    registerTxFunction('test.cold/restock', (db: Db, sku: string) => {
      const e = db.entid([kw('item/sku'), sku])!;
      const stock = [...db.datoms('eavt', e, kw('item/stock'))][0]!.v as number;
      return [['db/add', e, 'item/stock', stock + 10]];
    });
    registerEntityPredicate('test.cold/stocked', (db: Db, e: number) => [...db.datoms('eavt', e, kw('item/stock'))].length > 0);

    transactor = await Transactor.open(storage, 'db', options);
    let db = transactor.db();
    // An instant resolves to its t when a read needs it, loading the AVET segments that takes.
    const context = new IoContext();
    const asOfInstant = db.asOf(new Date(later + 20_500));
    const skus = '[:find (count ?e) . :where [?e :item/sku]]';
    expect(await readDb(db.state.base, () => query({ query: skus, args: [asOfInstant] }), context)).toBe(21);
    expect(context.snapshot().memory!.misses).toBeGreaterThan(0);
    expect(await read(db, () => query({ query: skus, args: [db.since(new Date(later + 20_000))] }))).toBe(29);
    transactor.indexing!.indexer.nodes.clear();
    await transactor.indexing!.indexer.loadRoots();
    expect(await read(db, () => query({ query: '[:find ?s . :where [[:item/sku "S33"] :item/stock ?s]]', args: [db] }))).toBe(33);
    transactor.indexing!.indexer.nodes.clear();
    await transactor.indexing!.indexer.loadRoots();
    expect(await read(db, () => query({ query: '[:find ?s . :where [?e :item/sku "S34"] [(get-else $ ?e :item/stock -1) ?s]]', args: [db] }))).toBe(34);
    transactor.indexing!.indexer.nodes.clear();
    await transactor.indexing!.indexer.loadRoots();
    await transactor.transact([[kw('test.cold/restock'), 'S35']]);
    transactor.indexing!.indexer.nodes.clear();
    await transactor.indexing!.indexer.loadRoots();
    const e36 = await read(transactor.db(), () => transactor.db().entid([kw('item/sku'), 'S36']));
    transactor.indexing!.indexer.nodes.clear();
    await transactor.indexing!.indexer.loadRoots();
    await transactor.transact([{ 'db/id': e36, 'item/stock': 99, 'db/ensure': kw('spec/item') }]);
    db = transactor.db();
    expect(await read(db, () => query({ query: '[:find ?sku ?s :where [?e :item/sku ?sku] [?e :item/stock ?s] [(contains? #{"S35" "S36"} ?sku)]]', args: [db] }))).toEqual(
      expect.arrayContaining([['S35', 45], ['S36', 99]]),
    );
    await transactor.close();
  });

  it('refuses gcStorage from a transactor another process has indexed past, deleting nothing', async () => {
    const options = { indexing: { noveltyBytesMax: 1e9, backPressureBytes: 1e10, leafMax: 4, branchMax: 4, tier0Max: 1000 } };
    const storage = createMemoryStorage();
    const stale = await Transactor.open(storage, 'db', options);
    await stale.transact(schemaTx);
    for (let i = 0; i < 10; i++) await stale.transact([{ 'person/name': `A${i}` }]);
    await stale.indexNow();
    // A second transactor takes over the database (the first learns only when it next writes).
    const current = await Transactor.open(storage, 'db', options);
    for (let i = 0; i < 10; i++) await current.transact([{ 'person/name': `B${i}` }]);
    await current.indexNow();
    await expect(stale.gcStorage(new Date(Date.now() + 3_600_000))).rejects.toMatchObject({ code: 'storage/conflict' });
    const reopened = await Transactor.open(storage, 'db', options);
    const db = reopened.db();
    expect(await read(db, () => query({ query: '[:find (count ?e) . :where [?e :person/name]]', args: [db] }))).toBe(20);
    for (const t of [stale, current, reopened]) await t.close();
  });

  it('stops transacting with storage/conflict once another process has moved its index root', async () => {
    const options = { indexing: { noveltyBytesMax: 1e9, backPressureBytes: 1e10 } };
    const storage = createMemoryStorage();
    const first = await Transactor.open(storage, 'db', options);
    await first.transact(schemaTx);
    await first.transact([{ 'person/name': 'A' }]);
    const second = await Transactor.open(storage, 'db', options); // replays the log, indexes it
    await second.indexNow();
    await expect(first.indexNow()).resolves.toBeUndefined(); // its run loses the compare-and-swap
    expect(first.indexing!.background.lostRoot).toBe(true);
    await expect(first.transact([{ 'person/name': 'B' }])).rejects.toMatchObject({ code: 'storage/conflict' });
    await expect(first.transact([{ 'person/name': 'C' }])).rejects.toMatchObject({ code: 'storage/conflict' });
    await first.close();
    await second.close();
  });

  it('keeps each retraction in or out of history as :db/noHistory was when it happened, before and after indexing', async () => {
    const options = { indexing: { noveltyBytesMax: 1e9, backPressureBytes: 1e10, leafMax: 4, branchMax: 4, tier0Max: 1000 } };
    const memory = await Transactor.open(createMemoryStorage(), 'db', { indexing: false });
    const durable = await Transactor.open(createMemoryStorage(), 'db', options);
    const both = async (tx: unknown[], t: number): Promise<void> => {
      await memory.transact(withInstant(tx, t));
      await durable.transact(withInstant(tx, t));
    };
    await both([
      { 'db/ident': kw('p/n'), 'db/valueType': kw('db.type/long'), 'db/cardinality': kw('db.cardinality/one'), 'db/noHistory': true },
      { 'db/ident': kw('p/m'), 'db/valueType': kw('db.type/long'), 'db/cardinality': kw('db.cardinality/one') },
    ], 1);
    await both([{ 'db/id': 'x', 'db/ident': kw('e/one'), 'p/n': 1, 'p/m': 1 }], 2);
    await durable.indexNow(); // the first values are in the base
    await both([['db/add', kw('e/one'), 'p/n', 2], ['db/add', kw('e/one'), 'p/m', 2]], 3); // retracted from the base
    await both([['db/add', kw('p/m'), 'db/noHistory', true]], 4); // the settings flip afterwards
    await both([['db/add', kw('p/n'), 'db/noHistory', false]], 5);
    const views = async (db: Db): Promise<unknown> => {
      const out: Record<string, unknown> = {};
      for (const [name, view] of [['history', db.history()], ['asOf 2', db.asOf(2)], ['asOf 3', db.asOf(3)], ['plain', db]] as const) {
        out[name] = await read(view, () => [...view.datoms('eavt')].map(project));
      }
      out['history count'] = await read(db, () => db.history().count('eavt'));
      return out;
    };
    expect(await views(durable.db())).toEqual(await views(memory.db()));
    await durable.indexNow();
    expect(await views(durable.db())).toEqual(await views(memory.db()));
    await memory.close();
    await durable.close();
  });

  it('refuses transactions with storage/busy while indexing is far behind, writing nothing, and accepts them once it catches up', async () => {
    const storage = withFaults(createMemoryStorage(), { seed: 3, delayMs: 40, operations: ['putSegment'] });
    const transactor = await Transactor.open(storage, 'db', { indexing: { noveltyBytesMax: 20_000, backPressureBytes: 60_000 } });
    await transactor.transact(schemaTx);
    const random = seededRandom(5);
    let refused: unknown = null;
    for (let i = 0; i < 500 && refused === null; i++) {
      const db = transactor.db();
      const txData = await read(db, () => nextTxData(random, db));
      await transactor.transact(txData).catch((error: unknown) => (refused = error));
    }
    expect(isFactumError(refused, 'storage/busy')).toBe(true);
    expect((refused as Error).message).toMatch(/Indexing is behind: .* KiB of transactions wait to be indexed \(limit .* KiB\)\. Retry/);
    const length = await storage.logLength('db');
    const basis = transactor.db().basisT;
    await transactor.transact([{ 'person/name': 'Refused' }]).catch(() => undefined);
    expect(await storage.logLength('db')).toBe(length);
    await transactor.indexNow();
    const report = await transactor.transact([{ 'person/name': 'Accepted' }]);
    expect(report.dbAfter.basisT).toBe(basis + 1);
    await transactor.close();
  });

  it('keeps refusing while index runs fail, and recovers once storage does (a refusal retries indexing)', async () => {
    const storage = withFaults(createMemoryStorage(), { seed: 9, failRate: 1, operations: ['putSegment'] });
    storage.faults.enabled = false;
    const transactor = await Transactor.open(storage, 'db', { indexing: { noveltyBytesMax: 20_000, backPressureBytes: 60_000 } });
    await transactor.transact(schemaTx);
    await transactor.indexNow();
    storage.faults.enabled = true; // every segment write fails from now on
    let refused: unknown = null;
    for (let i = 0; i < 500 && refused === null; i++) {
      await transactor.transact([{ 'person/name': `F${i}` }]).catch((error: unknown) => (refused = error));
    }
    expect(isFactumError(refused, 'storage/busy')).toBe(true);
    await transactor.indexing!.background.idle();
    const again = await transactor.transact([{ 'person/name': 'still refused' }]).catch((error: unknown) => error);
    expect((again as Error).message).toContain('The last index run failed');
    storage.faults.enabled = false; // storage is back
    let accepted = false;
    for (let i = 0; i < 400 && !accepted; i++) {
      accepted = await transactor.transact([{ 'person/name': `back ${i}` }]).then(
        () => true,
        async () => {
          await new Promise((resolve) => setTimeout(resolve, 5));
          return false;
        },
      );
    }
    expect(accepted).toBe(true);
    await transactor.close();
  });

  it('reads through the client from a reopened local database, and a corrupt segment is storage/corrupt, never an answer', async () => {
    const { mkdtemp, rm, readdir, readFile, writeFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'factum-integrated-'));
    try {
      const config = { storage: 'local' as const, dir, indexing: { noveltyBytesMax: 2_000, backPressureBytes: 1_000_000_000 } };
      // Every instant explicit and in the past: a txInstant later than the transactor's clock is refused.
      const later = Date.now() - 3_600_000;
      let client = await createClient(config);
      await client.createDatabase('people');
      let conn = await client.connect('people');
      await conn.transact([...schemaTx, ['db/add', 'datomic.tx', 'db/txInstant', new Date(later - 1000)]]);
      for (let i = 0; i < 60; i++) await conn.transact([{ 'person/name': `P${i}`, 'person/age': i }, ['db/add', 'datomic.tx', 'db/txInstant', new Date(later + i * 1000)]]);
      const countQuery = '[:find (count ?p) (sum ?a) :where [?p :person/age ?a]]';
      const expected = await conn.db().runQuery({ query: countQuery, args: [conn.db()] });
      expect(expected).toEqual([[60, 1770]]);
      await client.close();

      client = await createClient(config);
      conn = await client.connect('people');
      // Opened cold (no instant read yet): asOf and since an instant resolve when the query reads.
      const asOfInstant = conn.db().asOf(new Date(later + 29_500));
      expect(asOfInstant.asOfT).toEqual(new Date(later + 29_500));
      expect(await asOfInstant.runQuery({ query: countQuery, args: [asOfInstant] })).toEqual([[30, 435]]);
      const sinceInstant = conn.db().since(new Date(later + 29_000));
      expect(await sinceInstant.runQuery({ query: countQuery, args: [sinceInstant] })).toEqual([[30, 1335]]);
      expect(await conn.db().runQuery({ query: countQuery, args: [conn.db()] })).toEqual(expected);
      // Per-query I/O statistics: the second run of a query finds every segment in memory.
      const stats: Array<Record<string, { hits: number; misses: number }>> = [];
      for (let run = 0; run < 2; run++) {
        await conn.db().runQuery({ query: '[:find (count ?e) . :where [?e :person/name]]', args: [conn.db()], ioStats: (s) => stats.push(s) });
      }
      expect(stats[0]!.memory!.hits + stats[0]!.memory!.misses).toBeGreaterThan(0);
      expect(stats[1]!.memory!.misses).toBe(0);
      expect((await client.ioStats()).memory!.hits).toBeGreaterThan(0);
      const names: unknown[] = [];
      for await (const datom of conn.db().datoms('aevt', ['person/name'])) names.push(datom.v);
      expect(names).toHaveLength(60);
      const p7 = await conn.db().runQuery({ query: '[:find ?e . :where [?e :person/name "P7"]]', args: [conn.db()] });
      expect(await conn.db().pull('[:person/age]', p7)).toEqual({ 'person/age': 7 });
      await client.close();

      // Flip a byte in the middle of every stored segment: every read that needs one fails.
      const files: string[] = [];
      const walk = async (at: string): Promise<void> => {
        for (const entry of await readdir(at, { withFileTypes: true })) {
          const path = join(at, entry.name);
          if (entry.isDirectory()) await walk(path);
          else if (path.includes('segments')) files.push(path);
        }
      };
      await walk(dir);
      expect(files.length).toBeGreaterThan(0);
      for (const file of files) {
        const bytes = await readFile(file);
        bytes[bytes.length >> 1]! ^= 0x40;
        await writeFile(file, bytes);
      }
      const error = await Promise.resolve(createClient(config))
        .then(async (c) => {
          try {
            const connection = await c.connect('people');
            return await connection.db().runQuery({ query: '[:find (count ?p) . :where [?p :person/age]]', args: [connection.db()] });
          } finally {
            await c.close();
          }
        })
        .catch((e: unknown) => e);
      expect(isFactumError(error, 'storage/corrupt')).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('gcStorage deletes the segments of retired roots and keeps the current database whole', async () => {
    const transactor = await Transactor.open(createMemoryStorage(), 'db', { indexing: { ...indexing, tier0Max: 20 } });
    await transactor.transact(schemaTx);
    for (let i = 0; i < 80; i++) {
      await transactor.transact([{ 'person/name': `P${i}`, 'person/age': i }]);
      if (i % 10 === 9) await transactor.indexNow(); // a new root every ten transactions
    }
    const count = async (): Promise<unknown> => {
      const db = transactor.db();
      return read(db, () => query({ query: '[:find (count ?p) . :where [?p :person/age]]', args: [db] }));
    };
    expect(await count()).toBe(80);
    // Segments no root ever named (a tier written and merged away within one run) go at once.
    await transactor.gcStorage(new Date(0));
    expect(await count()).toBe(80);
    const collected = await transactor.gcStorage(new Date(Date.now() + 3_600_000)); // counts as now
    expect(collected.deleted).toBeGreaterThan(0);
    expect(await count()).toBe(80);
    await transactor.close();

    const client = createClient({ storage: 'memory' });
    await client.createDatabase('gc');
    const conn = await client.connect('gc');
    await expect(conn.gcStorage(new Date('nonsense'))).rejects.toMatchObject({ code: 'index/invalid-option' });
    await client.close();
  });
});
