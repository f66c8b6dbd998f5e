// Queries on query threads answer as queries on the main thread: two in-process nodes, one with
// FACTUM_QUERY_THREADS=2 and one with 0, given the same transactions (and an index run every few
// of them, so the threads read segments through the main thread's storage), answer the same
// values, streams, EDN text and errors: q and qseq (several chunks), filtered and speculative db
// values, and a basis from before many index runs (which a thread no longer rebuilds: the main
// thread answers it from the db values it keeps).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, kw, q, qseq, type Client, type Connection, type Db } from '../../client/index.ts';
import { decode } from '../../client/wire/codec.ts';
import { printEdn } from '../../nodes/edn/printer.ts';
import { readEdn } from '../../nodes/edn/reader.ts';
import { readNodeSettings, startNode, type RunningNode } from '../../nodes/main.ts';
import { call, readKeyFile, type KeyFile, type Target } from './signed-fetch.ts';

const PEOPLE = 2500;

interface Side {
  readonly dir: string;
  readonly node: RunningNode;
  readonly client: Client;
  readonly conn: Connection;
  readonly target: Target;
  readonly admin: KeyFile;
  /** The db value after the schema, before every index run. */
  early: Db;
}

async function startSide(threads: string): Promise<Side> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'factum-query-threads-'));
  const node = await startNode(
    readNodeSettings({ FACTUM_STORAGE: 'local', FACTUM_DATA_DIR: dir, FACTUM_PORT: '0', FACTUM_HOST: '127.0.0.1', FACTUM_SYSTEM: 'local', FACTUM_ROLE: 'primary', FACTUM_QUERY_THREADS: threads, FACTUM_NOVELTY_BYTES_MAX: '1024' }),
    new PassThrough().resume(),
  );
  // Every transaction here outgrows the tiny novelty limit, so the next one may be refused with
  // storage/busy until the index run ends; on a slow machine that takes longer than the default
  // retries wait, so this client retries for up to about a minute.
  const client = createClient({ endpoint: node.endpoint, system: 'local', keyFile: node.keyFile!, retry: { attemptsMax: 40, backoffMaxMs: 3000 } });
  await client.createDatabase('people');
  const conn = await client.connect('people');
  await conn.transact(`[{:db/ident :p/name :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
    {:db/ident :p/age :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
    {:db/ident :p/tag :db/valueType :db.type/keyword :db/cardinality :db.cardinality/many}]`);
  return { dir, node, client, conn, target: { endpoint: node.endpoint, system: 'local' }, admin: readKeyFile(node.keyFile!), early: conn.db() };
}

let threads: Side;
let main: Side;

beforeAll(async () => {
  [threads, main] = await Promise.all([startSide('2'), startSide('0')]);
  // No query before the index runs: the query threads have never seen the early db value (the
  // main thread keeps it: connect handed it out).
  for (const side of [threads, main]) {
    for (let start = 0; start < PEOPLE; start += 250) {
      await side.conn.transact(Array.from({ length: 250 }, (_, i) => ({ 'p/name': `n${start + i}`, 'p/age': (start + i) % 97, 'p/tag': [kw(`t${(start + i) % 5}`)] })));
    }
  }
});

afterAll(async () => {
  for (const side of [threads, main]) {
    if (side === undefined) continue;
    await side.client.close();
    await side.node.stop();
    await rm(side.dir, { recursive: true, force: true });
  }
});

/** Results in an order that does not depend on the engine's. */
function sorted(value: unknown): unknown {
  return Array.isArray(value) ? [...value].sort((a, b) => (printEdn(a) < printEdn(b) ? -1 : 1)) : value;
}

async function onBoth<T>(read: (side: Side) => Promise<T>): Promise<[T, T]> {
  return [await read(threads), await read(main)];
}

describe('queries on query threads', () => {
  it('answer q as the main thread does, on current, filtered and speculative db values', async () => {
    const queries = [
      '[:find (count ?e) . :where [?e :p/name]]',
      '[:find ?age (count ?e) :where [?e :p/age ?age]]',
      '[:find [?name ...] :where [?e :p/tag :t3] [?e :p/age 10] [?e :p/name ?name]]',
      '[:find (pull ?e [:p/name :p/tag]) . :where [?e :p/name "n42"]]',
      '[:find ?tag (avg ?age) :where [?e :p/tag ?tag] [?e :p/age ?age]]',
    ];
    const views: Array<(side: Side) => Promise<Db>> = [
      async (side) => side.conn.db(),
      async (side) => side.conn.db().asOf(side.early.basisT + 3),
      async (side) => side.conn.db().since(side.early.basisT + 8),
      async (side) => (await side.conn.db().with([{ 'p/name': 'n42', 'p/age': 1000, 'p/tag': [kw('t9')] }])).dbAfter,
    ];
    for (const view of views) {
      for (const query of queries) {
        const [there, here] = await onBoth(async (side) => sorted(await q(query, await view(side))));
        expect({ query, answer: there }).toEqual({ query, answer: here });
      }
    }
    const [history, mainHistory] = await onBoth(async (side) => sorted(await q('[:find ?age ?added :where [?e :p/name "n7"] [?e :p/age ?age _ ?added]]', side.conn.db().history())));
    expect(history).toEqual(mainHistory);
  });

  it('answer qseq in several chunks, and both in EDN, as the main thread does', async () => {
    const query = '[:find ?name ?age :where [?e :p/name ?name] [?e :p/age ?age]]';
    const [streamed, mainStreamed] = await onBoth(async (side) => {
      const rows: unknown[] = [];
      for await (const row of qseq(query, side.conn.db())) rows.push(row);
      return sorted(rows);
    });
    expect((streamed as unknown[]).length).toBe(PEOPLE);
    expect(streamed).toEqual(mainStreamed);
    for (const operation of ['q', 'qseq']) {
      const [edn, mainEdn] = await onBoth(async (side) => {
        const response = await call(side.target, side.admin, operation, { query, args: [{ database: 'people', basisT: side.conn.db().basisT }], dbArgs: [0] }, { accept: 'application/edn' });
        return { status: response.status, type: response.headers['content-type'], rows: sorted(readEdn(response.text)) };
      });
      expect(edn).toEqual(mainEdn);
      expect((edn.rows as unknown[]).length).toBe(PEOPLE);
    }
  });

  it('answer a basis from before many index runs, which the main thread keeps', async () => {
    const [early, mainEarly] = await onBoth(async (side) => q('[:find (count ?e) . :where [?e :p/name]]', side.early));
    expect(early).toBeNull();
    expect(early).toEqual(mainEarly);
  });

  it('refuse bad queries with the same status, code and data', async () => {
    const bad = ['[:find ?e :where [?e :p/nope]]', '[:find ?x :where [?e :p/name]]', '[:find ?e :where', '[:find (count ?e) . :where [?e :p/name]]'];
    for (const query of bad) {
      for (const operation of ['q', 'qseq']) {
        const [there, here] = await onBoth(async (side) => {
          const response = await call(side.target, side.admin, operation, { query, args: [{ database: 'people', basisT: side.conn.db().basisT }], dbArgs: [0] });
          return response.status === 200 ? { status: 200 } : { status: response.status, error: errorOf(response.body) };
        });
        expect({ operation, query, there }).toEqual({ operation, query, there: here });
      }
    }
  });
});

/** An error answer's code, category and data. */
function errorOf(body: Uint8Array): unknown {
  const { error } = decode(body) as { error: { code: string; category: string; data: unknown } };
  return { code: error.code, category: error.category, data: error.data };
}
