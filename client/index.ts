//! factum's client API, one interface in two forms: embedded (the engine in this process) and
//! remote (a node over HTTP). The engine is loaded on first use of an embedded client (never
//! imported statically), so a remote client stays small enough for AWS Lambda.
//!
//! ```ts
//! import { createClient } from 'factum/client';
//! const client = createClient({ storage: 'local', dir: './data' });        // embedded
//! // const client = createClient({ endpoint, system: 'local', keyFile });  // remote: the same API
//! await client.createDatabase('shop');
//! const conn = await client.connect('shop');
//! await conn.transact('[{:db/ident :item/sku :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}]');
//! const { tempids } = await conn.transact([{ 'db/id': 'x', 'item/sku': 'A-1' }]);
//! ```
import type { Client, ClientConfig, Db, EmbeddedClientConfig, QueryRequest, RemoteClientConfig } from './types.ts';
import { FactumError } from '../nodes/util/errors.ts';
import { openRemoteClient } from './remote/remote-client.ts';

export type * from './types.ts';
export { FactumError } from '../nodes/util/errors.ts';
export { kw, sym, list, Keyword, Sym, List, BigDec, Uuid, Uri } from '../nodes/values/values.ts';

export function createClient(config: ClientConfig): Client {
  if (config !== null && typeof config === 'object' && 'endpoint' in config) return createRemoteClient(config);
  if (config === null || typeof config !== 'object' || !('storage' in config)) {
    throw new FactumError('client/invalid-config', `createClient expects { storage: 'memory' }, { storage: 'local', dir } or { endpoint, system, keyFile | accessKey | credentials }, got ${JSON.stringify(config)}.`, { config: describeConfig(config) });
  }
  if (config.storage !== 'memory' && config.storage !== 'local') {
    throw new FactumError('client/invalid-config', `Unknown storage ${JSON.stringify((config as { storage: unknown }).storage)}; expected 'memory' or 'local'.`, { config });
  }
  if (config.storage === 'local' && (typeof config.dir !== 'string' || config.dir.length === 0)) {
    throw new FactumError('client/invalid-config', `Local storage needs a directory: { storage: 'local', dir: './data' }.`, { config });
  }
  return createEmbeddedClient(config);
}

function describeConfig(config: unknown): unknown {
  return typeof config === 'object' && config !== null ? Object.keys(config) : config;
}

function createRemoteClient(config: RemoteClientConfig): Client {
  const problems: string[] = [];
  if (typeof config.endpoint !== 'string' || config.endpoint === '') problems.push(`endpoint is ${JSON.stringify(config.endpoint)}; expected the node's URL, e.g. http://127.0.0.1:8182`);
  if (typeof config.system !== 'string' || config.system === '') problems.push(`system is ${JSON.stringify(config.system)}; expected the system's name`);
  const ways = (['accessKey', 'keyFile', 'credentials'] as const).filter((name) => config[name] !== undefined);
  if (ways.length !== 1) problems.push(`give exactly one of accessKey, keyFile or credentials (given: ${ways.length === 0 ? 'none' : ways.join(', ')})`);
  if (problems.length > 0) {
    // Never echo the config: it may hold a secret.
    throw new FactumError('client/invalid-config', `The remote client's configuration is not valid: ${problems.join('; ')}.`, { problems });
  }
  return openRemoteClient(config);
}

function createEmbeddedClient(config: EmbeddedClientConfig): Client {
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

/**
 * A query's results one at a time, as Datomic's qseq: `for await (const row of qseq(query, db))`.
 * Relation and collection find specs only. Breaking out of the loop stops the work.
 */
export async function* qseq(query: QueryRequest['query'], ...args: unknown[]): AsyncGenerator<unknown> {
  const request = { query, args };
  const db = args.find(isDb);
  if (db !== undefined) {
    yield* db.runQseq(request);
    return;
  }
  const m = await import('../nodes/query/index.ts');
  yield* m.qseq(query, ...args);
}
