// The client API's test suite, written once and run against every kind of client: embedded on
// memory and on a local directory, and remote on a real node process (local storage here; the
// AWS emulator in test/integration/remote-client.test.ts). Code written against one kind of
// client must run unchanged on the others; this suite is how that is checked.
import { describe, expect, it } from 'vitest';
import { kw, q, qseq, runQuery, type Client, type Datom } from './index.ts';

/** A way to get clients of one kind. */
export interface ClientTarget {
  /** A client on a fresh system (an empty storage). */
  fresh(): Promise<Client>;
  /**
   * Closes `client` and gives one on the same storage after a restart: for embedded clients a
   * new client, for remote ones a restarted node process. Null when the storage does not survive.
   */
  readonly restart: ((client: Client) => Promise<Client>) | null;
}

const schema = `[{:db/ident :item/sku :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
                 {:db/ident :item/tags :db/valueType :db.type/keyword :db/cardinality :db.cardinality/many}
                 {:db/ident :item/price :db/valueType :db.type/bigdec :db/cardinality :db.cardinality/one}
                 {:db/ident :item/next :db/valueType :db.type/ref :db/cardinality :db.cardinality/one}]`;

/** `client`, whose close also stops the node it talks to (a remote target's fresh client). */
export function stoppingNodeOnClose(client: Client, node: { stop(): Promise<void> }): Client {
  return {
    ...client,
    close: async () => {
      await client.close();
      await node.stop();
    },
  };
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

export function describeClientSuite(name: string, target: ClientTarget): void {
  describe(`client API (${name})`, () => {
    it('transacts EDN and JS data and reads them back in every view', async () => {
      const client = await target.fresh();
      try {
        expect(await client.createDatabase('shop')).toBe(true);
        expect(await client.createDatabase('shop')).toBe(false);
        expect(await client.listDatabases()).toEqual(['shop']);
        const conn = await client.connect('shop');
        await conn.transact(schema);
        const r = await conn.transact('[{:db/id "a" :item/sku "A-1" :item/tags [:red :big] :item/price 1.50M}]');
        expect(r.dbAfter.basisT).toBe(r.dbBefore.basisT + 1);
        expect(r.txData.length).toBeGreaterThan(3);
        await conn.transact([{ 'item/sku': 'B-2', 'item/tags': [kw('red')] }]);
        const db = conn.db();
        expect(db.basisT).toBe(3);
        const skus = await collect(db.datoms('avet', ['item/sku']));
        expect(skus.map((d) => d.v)).toEqual(['A-1', 'B-2']);
        const tags = await collect(db.datoms('eavt', [r.tempids.a, 'item/tags']));
        expect(tags.map((d) => d.v)).toEqual([kw('big'), kw('red')]);
        expect(await collect(db.datoms('avet', ['item/sku'], { offset: 1, limit: 5 }))).toHaveLength(1);
        expect(await collect(db.asOf(2).datoms('avet', ['item/sku']))).toHaveLength(1);
        expect(db.asOf(2).asOfT).toBe(2);
        expect(db.since(2).sinceT).toBe(2);
        expect(await collect(db.since(2).datoms('avet', ['item/sku']))).toHaveLength(1);
        expect(db.history().isHistory).toBe(true);
        expect((await collect(db.indexRange('item/sku', 'B', null))).map((d) => d.v)).toEqual(['B-2']);
        const speculative = await db.with([{ 'item/sku': 'C-3' }]);
        expect(speculative.dbAfter.basisT).toBe(4);
        expect(await collect(speculative.dbAfter.datoms('avet', ['item/sku']))).toHaveLength(3);
        // A speculative db value is a db value like any other: queries, pulls, and with again.
        expect(await q('[:find (count ?e) . :where [?e :item/sku]]', speculative.dbAfter)).toBe(3);
        const again = await speculative.dbAfter.with([{ 'item/sku': 'D-4' }]);
        expect(await q('[:find (count ?e) . :where [?e :item/sku]]', again.dbAfter)).toBe(4);
        expect(await collect(conn.db().datoms('avet', ['item/sku']))).toHaveLength(2);
        const log = [];
        for await (const entry of conn.txRange({ start: 2 })) log.push(entry.t);
        expect(log).toEqual([2, 3]);
        expect((await conn.sync(3)).basisT).toBe(3);
        expect(await db.entid([kw('item/sku'), 'A-1'])).toBe(r.tempids.a);
        expect(await db.entid([kw('item/sku'), 'nope'])).toBe(null);
        expect(await db.ident(tags[0]!.a)).toBe(kw('item/tags'));
        const pulled = await db.pull('[:item/sku :item/tags :item/price]', [kw('item/sku'), 'A-1']);
        expect(pulled).toEqual({ 'item/sku': 'A-1', 'item/tags': [kw('big'), kw('red')], 'item/price': expect.anything() });
        expect(String(pulled['item/price'])).toBe('1.50');
        expect(await db.pullMany([kw('item/sku')], [r.tempids.a])).toEqual([{ 'item/sku': 'A-1' }]);
        expect(await q('[:find [?sku ...] :in $ ?tag :where [?e :item/tags ?tag] [?e :item/sku ?sku]]', db, kw('red'))).toEqual(expect.arrayContaining(['A-1', 'B-2']));
        expect(await runQuery({ query: '[:find (count ?e) . :where [?e :item/sku]]', args: [db.asOf(2)] })).toBe(1);
        expect(await runQuery({ query: '[:find ?sku :where [_ :item/sku ?sku]]', args: [db], limit: 1 })).toHaveLength(1);
        expect(await q('[:find ?x :in [?x ...]]', [1, 2])).toEqual(expect.arrayContaining([[1], [2]]));
        expect((await collect(qseq('[:find ?sku :where [_ :item/sku ?sku]]', db))).sort()).toEqual([['A-1'], ['B-2']]);
        const pulledByIndex = await collect(db.indexPull({ index: 'avet', selector: '[:item/sku]', start: [kw('item/sku')] }));
        expect(pulledByIndex).toEqual([{ 'item/sku': 'A-1' }, { 'item/sku': 'B-2' }]);
        expect((await db.stats()).attributes['item/sku']).toEqual({ count: 2 });
        expect(await client.deleteDatabase('shop')).toBe(true);
        expect(await client.deleteDatabase('shop')).toBe(false);
        expect(await client.listDatabases()).toEqual([]);
      } finally {
        await client.close();
      }
    });

    it('keeps every value type exactly, from tx-data to datoms, queries and pulls', async () => {
      const client = await target.fresh();
      try {
        await client.createDatabase('values');
        const conn = await client.connect('values');
        const types = ['keyword', 'string', 'boolean', 'long', 'bigint', 'float', 'double', 'bigdec', 'instant', 'uuid', 'uri', 'symbol', 'bytes'];
        await conn.transact(`[${types.map((t) => `{:db/ident :v/${t} :db/valueType :db.type/${t} :db/cardinality :db.cardinality/many}`).join(' ')}]`);
        const values = `{:db/id "x" :v/keyword [:a :b/c] :v/string ["" "héllo 😀"] :v/boolean [true false] :v/long [0 -1 9007199254740991]
          :v/bigint [123456789012345678901234567890N -1N] :v/double [-0.0 1.5 ##Inf ##-Inf] :v/bigdec [1.50M 0M -3.14159M]
          :v/instant [#inst "2020-01-02T03:04:05.678Z"] :v/uuid [#uuid "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"]
          :v/uri [#factum/uri "https://example.com/a?b=c"] :v/symbol [foo/bar baz] :v/bytes [#factum/bytes "AAEC/w=="]}`;
        const { tempids } = await conn.transact(`[${values}]`);
        const datoms = await collect(conn.db().datoms('eavt', [tempids.x]));
        const printed = await q(`[:find ?a ?v :in $ ?e :where [?e ?attr ?v] [?attr :db/ident ?a]]`, conn.db(), tempids.x);
        expect((printed as unknown[]).length).toBe(datoms.length);
        const byIdent = new Map<string, unknown[]>();
        for (const [a, v] of printed as Array<[{ fqn: string }, unknown]>) byIdent.set(a.fqn, [...(byIdent.get(a.fqn) ?? []), v]);
        expect(byIdent.get('v/double')!.some((v) => Object.is(v, -0))).toBe(true);
        expect(byIdent.get('v/double')).toContain(Number.POSITIVE_INFINITY);
        expect(byIdent.get('v/bigint')).toContain(123456789012345678901234567890n);
        expect(byIdent.get('v/long')).toContain(9007199254740991);
        expect((byIdent.get('v/bytes')![0] as Uint8Array)).toBeInstanceOf(Uint8Array);
        expect([...(byIdent.get('v/bytes')![0] as Uint8Array)]).toEqual([0, 1, 2, 255]);
        expect((byIdent.get('v/instant')![0] as Date).toISOString()).toBe('2020-01-02T03:04:05.678Z');
        expect(byIdent.get('v/bigdec')!.map(String).sort()).toEqual(['-3.14159', '0', '1.50']);
        const pulled = await conn.db().pull('[*]', tempids.x);
        expect(pulled['v/keyword']).toEqual(expect.arrayContaining([kw('a'), kw('b/c')]));
      } finally {
        await client.close();
      }
    });

    it('reports bad input with its stable code, and changes nothing', async () => {
      const client = await target.fresh();
      try {
        await client.createDatabase('x');
        const conn = await client.connect('x');
        await expect(conn.transact('[{:db/ident :a/b')).rejects.toMatchObject({ code: 'edn/syntax', category: 'incorrect' });
        await expect(conn.transact('[{:a/b 1}]')).rejects.toMatchObject({ code: 'schema/unknown-attribute', category: 'incorrect' });
        await expect(conn.transact(42 as never)).rejects.toMatchObject({ code: 'transact/malformed' });
        await conn.transact('[{:db/ident :a/n :db/valueType :db.type/long :db/cardinality :db.cardinality/one :db/unique :db.unique/value}]');
        await conn.transact('[{:a/n 1}]');
        await expect(conn.transact('[{:a/n 1}]')).rejects.toMatchObject({ code: 'transact/unique-conflict', category: 'conflict' });
        await expect(conn.transact('[{:a/n "one"}]')).rejects.toMatchObject({ code: 'value/wrong-type' });
        // Datomic's :db.error/not-an-entity is an incorrect anomaly, not not-found (issue 20).
        await expect(conn.transact('[[:db/add [:a/n 999] :a/n 2]]')).rejects.toMatchObject({ code: 'transact/invalid-lookup-ref', category: 'incorrect' });
        expect(conn.db().basisT).toBe(2);
        expect((await conn.sync()).basisT).toBe(2);
        await expect(q('[:find ?x :where [?x :a/n ?y] [(> ?z 1)]]', conn.db())).rejects.toMatchObject({ code: expect.stringMatching(/^query\//) });
        await expect(q('[:find ?x :where', conn.db())).rejects.toMatchObject({ code: 'edn/syntax' });
        await expect(conn.db().pull('[:nope/nope]', 1)).rejects.toMatchObject({ code: 'pull/unknown-attribute', category: 'incorrect' });
        await expect(client.connect('nope')).rejects.toMatchObject({ code: 'catalog/database-not-found', category: 'not-found' });
        await expect(client.createDatabase('bad name!')).rejects.toMatchObject({ code: 'catalog/invalid-name' });
        expect(() => conn.db().asOf(-1)).toThrow(expect.objectContaining({ code: 'db/invalid-t' }));
        await expect(conn.gcStorage('yesterday' as never)).rejects.toMatchObject({ code: 'index/invalid-option' });
      } finally {
        await client.close();
      }
    });

    it('answers many concurrent transactions and reads, each once', async () => {
      const client = await target.fresh();
      try {
        await client.createDatabase('busy');
        const conn = await client.connect('busy');
        await conn.transact(schema);
        const reports = await Promise.all(Array.from({ length: 50 }, (_, i) => conn.transact([{ 'item/sku': `S${i}` }])));
        expect(new Set(reports.map((r) => r.dbAfter.basisT)).size).toBe(50);
        const counts = await Promise.all(reports.map((r) => q('[:find (count ?e) . :where [?e :item/sku]]', r.dbAfter)));
        expect(counts.sort((a, b) => (a as number) - (b as number))).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
        expect(conn.db().basisT).toBe(51);
      } finally {
        await client.close();
      }
    });

    it('stops a lazy scan when its reader stops', async () => {
      const client = await target.fresh();
      try {
        await client.createDatabase('scan');
        const conn = await client.connect('scan');
        await conn.transact(schema);
        await conn.transact(Array.from({ length: 3000 }, (_, i) => ({ 'item/sku': `K${String(i).padStart(5, '0')}` })));
        let n = 0;
        for await (const datom of conn.db().datoms('avet', ['item/sku'])) {
          expect((datom as Datom).v).toBe(`K${String(n).padStart(5, '0')}`);
          if (++n === 10) break;
        }
        expect(n).toBe(10);
        // The connection still serves after an abandoned stream.
        expect(await q('[:find (count ?e) . :where [?e :item/sku]]', conn.db())).toBe(3000);
        expect(await collect(conn.db().datoms('avet', ['item/sku']))).toHaveLength(3000);
      } finally {
        await client.close();
      }
    });

    if (target.restart !== null) {
      const restart = target.restart;
      it('keeps committed transactions across a restart', async () => {
        const client = await target.fresh();
        await client.createDatabase('shop');
        const conn = await client.connect('shop');
        await conn.transact(schema);
        await Promise.all(Array.from({ length: 20 }, (_, i) => conn.transact([{ 'item/sku': `S${i}` }])));
        const again = await restart(client);
        try {
          const db = (await again.connect('shop')).db();
          expect(db.basisT).toBe(21);
          expect(await collect(db.datoms('avet', ['item/sku']))).toHaveLength(20);
          expect(await again.listDatabases()).toEqual(['shop']);
        } finally {
          await again.close();
        }
      });
    }
  });
}
