//! factum's client API. The engine is loaded on first use (never imported statically), so a
//! remote client stays small enough for AWS Lambda.
//!
//! ```ts
//! import { createClient } from 'factum/client';
//! const client = createClient({ storage: 'local', dir: './data' });
//! await client.createDatabase('shop');
//! const conn = await client.connect('shop');
//! await conn.transact('[{:db/ident :item/sku :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}]');
//! const { tempids } = await conn.transact([{ 'db/id': 'x', 'item/sku': 'A-1' }]);
//! ```
import type { Client, ClientConfig, Db, QueryRequest } from './types.ts';
import { FactumError } from '../nodes/util/errors.ts';

export type * from './types.ts';
export { FactumError } from '../nodes/util/errors.ts';
export { kw, sym, list, Keyword, Sym, List, BigDec, Uuid, Uri } from '../nodes/values/values.ts';

export function createClient(config: ClientConfig): Client {
  if (config === null || typeof config !== 'object' || !('storage' in config)) {
    throw new FactumError('client/invalid-config', `createClient expects { storage: 'memory' } or { storage: 'local', dir }, got ${JSON.stringify(config)}.`, { config });
  }
  if (config.storage !== 'memory' && config.storage !== 'local') {
    throw new FactumError('client/invalid-config', `Unknown storage ${JSON.stringify((config as { storage: unknown }).storage)}; expected 'memory' or 'local'.`, { config });
  }
  if (config.storage === 'local' && (typeof config.dir !== 'string' || config.dir.length === 0)) {
    throw new FactumError('client/invalid-config', `Local storage needs a directory: { storage: 'local', dir: './data' }.`, { config });
  }
  const embedded = import('./embedded.ts').then((m) => m.openEmbeddedClient(config));
  embedded.catch(() => {}); // surfaced by the first call
  const call = <T>(fn: (client: Client) => Promise<T>): Promise<T> => embedded.then(fn);
  return {
    listDatabases: () => call((c) => c.listDatabases()),
    createDatabase: (name) => call((c) => c.createDatabase(name)),
    deleteDatabase: (name) => call((c) => c.deleteDatabase(name)),
    connect: (name) => call((c) => c.connect(name)),
    ioStats: () => call((c) => c.ioStats()),
    close: () => call((c) => c.close()),
  };
}

function isDb(x: unknown): x is Db {
  return typeof x === 'object' && x !== null && typeof (x as Db).runQuery === 'function' && typeof (x as Db).basisT === 'number';
}

/**
 * Runs a query: `await q('[:find ?sku :where [_ :item/sku ?sku]]', conn.db())`. The query is EDN
 * text or data; inputs follow `:in` (a db value for each `$` source).
 */
export function q(query: QueryRequest['query'], ...args: unknown[]): Promise<unknown> {
  return runQuery({ query, args });
}

/** Datomic's arg-map form: `await query({ query, args: [db], timeout: 1000, limit: 10 })`. */
export function runQuery(request: QueryRequest): Promise<unknown> {
  const db = (request.args ?? []).find(isDb);
  if (db !== undefined) return db.runQuery(request);
  // No db among the inputs (a query over collections only): run it here.
  return import('../nodes/query/index.ts').then((m) => m.query(request));
}
