//! factum's remote client alone: the entry point for AWS Lambda and other places where size and
//! cold start matter. The same names and types as client/index.ts, without the embedded half, so
//! that a bundle of it holds none of the engine (client/lambda-bundle.test.ts checks this).
//!
//! ```ts
//! import { createClient, q } from 'factum/client/remote';
//! const client = createClient({ endpoint: process.env.FACTUM_ENDPOINT!, system: 'prod', credentials: { bucket, region, database: 'shop', permission: 'read-write' } });
//! const conn = await client.connect('shop');
//! const skus = await q('[:find [?sku ...] :where [_ :item/sku ?sku]]', conn.db());
//! ```
//!
//! A query needs a db value among its inputs here: a query over collections only runs on the
//! engine, which this entry point leaves out (client/index.ts runs such queries in process).
import type { Client, RemoteClientConfig } from './types.ts';
import { FactumError } from '../nodes/util/errors.ts';
import { openRemoteClient } from './remote/remote-client.ts';
import { queryFunctions } from './query-functions.ts';

export type * from './types.ts';
export { FactumError } from '../nodes/util/errors.ts';
export { kw, sym, list, Keyword, Sym, List, BigDec, Uuid, Uri } from '../nodes/values/values.ts';

/**
 * A client of a node of a system: exactly one of `accessKey`, `keyFile` or `credentials` says how
 * it authenticates. Nothing is sent until the first call.
 *
 * @example
 * const client = createClient({ endpoint: 'http://127.0.0.1:8182', system: 'local', keyFile: './data/access/admin/1f2e….json' });
 */
export function createClient(config: RemoteClientConfig): Client {
  if (config === null || typeof config !== 'object' || !('endpoint' in config)) {
    const storage = typeof config === 'object' && config !== null && 'storage' in config;
    throw new FactumError(
      'client/invalid-config',
      `This entry point makes remote clients only and expects { endpoint, system, keyFile | accessKey | credentials }, got ${storage ? 'an embedded configuration ({ storage })' : describeConfig(config)}. For an embedded client import createClient from client/index.ts.`,
      { config: describeConfig(config) },
    );
  }
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

/** The keys of a configuration object, never its values (they may hold a secret). */
function describeConfig(config: unknown): string {
  return typeof config === 'object' && config !== null ? JSON.stringify(Object.keys(config)) : JSON.stringify(config) ?? String(config);
}

function noDb(args: readonly unknown[]): FactumError {
  return new FactumError(
    'query/invalid-input',
    `The query was given no db value among its ${args.length} input(s); the remote client runs a query on the node that holds its db value, so pass one (e.g. q(query, conn.db())). A query over collections only runs on the engine: use client/index.ts for that.`,
    { inputs: args.length },
  );
}

/** `q`, `runQuery` and `qseq` as in client/index.ts (see client/query-functions.ts), for queries with a db value among their inputs. */
export const { q, runQuery, qseq } = queryFunctions({
  runQuery: (request) => Promise.reject(noDb(request.args ?? [])),
  async *qseq(_query, args) {
    throw noDb(args);
  },
});
