//! factum's client API, one interface in two forms: embedded (the engine in this process) and
//! remote (a node over HTTP). The engine is loaded on first use of an embedded client (never
//! imported statically), so a remote client stays small enough for AWS Lambda. client/remote.ts is
//! the remote half alone, for bundles that must hold none of the engine.
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
import type { Client, ClientConfig, EmbeddedClientConfig } from './types.ts';
import { FactumError } from '../nodes/util/errors.ts';
import { createClient as createRemoteClient } from './remote.ts';
import { queryFunctions } from './query-functions.ts';

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

/** `q`, `runQuery` and `qseq` (client/query-functions.ts); a query without a db value among its inputs runs here, on the engine, loaded on first use. */
export const { q, runQuery, qseq } = queryFunctions({
  runQuery: (request) => import('../nodes/query/index.ts').then((m) => m.query(request)),
  async *qseq(query, args) {
    const m = await import('../nodes/query/index.ts');
    yield* m.qseq(query, ...args);
  },
});
