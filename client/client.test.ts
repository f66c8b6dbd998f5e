import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createClient, kw, q, runQuery, type Client, type Datom } from './index.ts';

const schema = `[{:db/ident :item/sku :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
                 {:db/ident :item/tags :db/valueType :db.type/keyword :db/cardinality :db.cardinality/many}]`;

async function collect(iterable: AsyncIterable<Datom>): Promise<Datom[]> {
  const out: Datom[] = [];
  for await (const d of iterable) out.push(d);
  return out;
}

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function localClient(dir?: string): Promise<[Client, string]> {
  const d = dir ?? (await mkdtemp(path.join(os.tmpdir(), 'factum-client-')));
  if (dir === undefined) dirs.push(d);
  return [createClient({ storage: 'local', dir: d }), d];
}

describe('client, embedded', () => {
  for (const kind of ['memory', 'local'] as const) {
    it(`transacts EDN and JS data and reads them back (${kind})`, async () => {
      const client = kind === 'memory' ? createClient({ storage: 'memory' }) : (await localClient())[0];
      expect(await client.createDatabase('shop')).toBe(true);
      const conn = await client.connect('shop');
      await conn.transact(schema);
      const r = await conn.transact('[{:db/id "a" :item/sku "A-1" :item/tags [:red :big]}]');
      await conn.transact([{ 'item/sku': 'B-2', 'item/tags': [kw('red')] }]);
      const db = conn.db();
      expect(db.basisT).toBe(3);
      const skus = await collect(db.datoms('avet', ['item/sku']));
      expect(skus.map((d) => d.v)).toEqual(['A-1', 'B-2']);
      const tags = await collect(db.datoms('eavt', [r.tempids.a, 'item/tags']));
      expect(tags.map((d) => d.v)).toEqual([kw('big'), kw('red')]);
      expect(await collect(db.datoms('avet', ['item/sku'], { offset: 1, limit: 5 }))).toHaveLength(1);
      expect(await collect(db.asOf(2).datoms('avet', ['item/sku']))).toHaveLength(1);
      expect((await collect(db.indexRange('item/sku', 'B', null))).map((d) => d.v)).toEqual(['B-2']);
      const speculative = await db.with([{ 'item/sku': 'C-3' }]);
      expect(await collect(speculative.dbAfter.datoms('avet', ['item/sku']))).toHaveLength(3);
      expect(await collect(conn.db().datoms('avet', ['item/sku']))).toHaveLength(2);
      const log = [];
      for await (const entry of conn.txRange({ start: 2 })) log.push(entry.t);
      expect(log).toEqual([2, 3]);
      expect((await conn.sync(3)).basisT).toBe(3);
      expect(await db.entid([kw('item/sku'), 'A-1'])).toBe(r.tempids.a);
      expect(await db.pull('[:item/sku :item/tags]', [kw('item/sku'), 'A-1'])).toEqual({ 'item/sku': 'A-1', 'item/tags': [kw('big'), kw('red')] });
      expect(await db.pullMany([kw('item/sku')], [r.tempids.a])).toEqual([{ 'item/sku': 'A-1' }]);
      expect(await q('[:find [?sku ...] :in $ ?tag :where [?e :item/tags ?tag] [?e :item/sku ?sku]]', db, kw('red'))).toEqual(expect.arrayContaining(['A-1', 'B-2']));
      expect(await runQuery({ query: '[:find (count ?e) . :where [?e :item/sku]]', args: [db.asOf(2)] })).toBe(1);
      expect(await q('[:find ?x :in [?x ...]]', [1, 2])).toEqual(expect.arrayContaining([[1], [2]]));
      await client.close();
    });
  }

  it('keeps committed transactions across a restart of a local client', async () => {
    const [client, dir] = await localClient();
    await client.createDatabase('shop');
    const conn = await client.connect('shop');
    await conn.transact(schema);
    await Promise.all(Array.from({ length: 20 }, (_, i) => conn.transact([{ 'item/sku': `S${i}` }])));
    await client.close();
    const [again] = await localClient(dir);
    const db = (await again.connect('shop')).db();
    expect(await collect(db.datoms('avet', ['item/sku']))).toHaveLength(20);
    expect(await again.listDatabases()).toEqual(['shop']);
    await again.close();
  });

  it('refuses a second client on the same directory', async () => {
    const [client, dir] = await localClient();
    await client.listDatabases();
    const [second] = await localClient(dir);
    await expect(second.listDatabases()).rejects.toMatchObject({ code: 'storage/locked' });
    await client.close();
  });

  it('reports malformed EDN with its position and changes nothing', async () => {
    const client = createClient({ storage: 'memory' });
    await client.createDatabase('x');
    const conn = await client.connect('x');
    await expect(conn.transact('[{:db/ident :a/b')).rejects.toMatchObject({ code: 'edn/syntax' });
    await expect(conn.transact('[{:a/b 1}]')).rejects.toMatchObject({ code: 'schema/unknown-attribute' });
    expect(conn.db().basisT).toBe(0);
    await expect(client.connect('nope')).rejects.toMatchObject({ code: 'catalog/database-not-found' });
  });

  it('rejects a bad configuration', () => {
    expect(() => createClient({ storage: 'disk' } as never)).toThrow(expect.objectContaining({ code: 'client/invalid-config' }));
    expect(() => createClient({ storage: 'local', dir: '' })).toThrow(expect.objectContaining({ code: 'client/invalid-config' }));
  });
});
