//! The top-level query functions, Datomic's `q`, `query` (here `runQuery`) and `qseq`, shared by
//! both entry points: a query runs where the first db value among its inputs lives (in this
//! process for an embedded db, on the node for a remote one). What happens to a query with no db
//! value among its inputs (a query over collections only) is the entry point's choice:
//! client/index.ts loads the engine and runs it here; client/remote.ts, which must stay free of
//! the engine, refuses it.
import type { Db, QueryRequest } from './types.ts';

/** How an entry point runs a query that has no db value among its inputs. */
export interface QueryWithoutDb {
  runQuery(request: QueryRequest): Promise<unknown>;
  qseq(query: QueryRequest['query'], args: readonly unknown[]): AsyncIterable<unknown>;
}

export interface QueryFunctions {
  /**
   * Runs a query: `await q('[:find ?sku :where [_ :item/sku ?sku]]', conn.db())`. The query is EDN
   * text or data; inputs follow `:in` (a db value for each `$` source).
   */
  q(query: QueryRequest['query'], ...args: unknown[]): Promise<unknown>;
  /** Datomic's arg-map form: `await runQuery({ query, args: [db], timeout: 1000, limit: 10 })`. */
  runQuery(request: QueryRequest): Promise<unknown>;
  /**
   * A query's results one at a time, as Datomic's qseq: `for await (const row of qseq(query, db))`.
   * Relation and collection find specs only. Breaking out of the loop stops the work.
   */
  qseq(query: QueryRequest['query'], ...args: unknown[]): AsyncGenerator<unknown>;
}

function isDb(x: unknown): x is Db {
  return typeof x === 'object' && x !== null && typeof (x as Db).runQuery === 'function' && typeof (x as Db).basisT === 'number';
}

/** The three functions, running a query without a db value as `withoutDb` says. */
export function queryFunctions(withoutDb: QueryWithoutDb): QueryFunctions {
  const runQuery = (request: QueryRequest): Promise<unknown> => {
    const db = (request.args ?? []).find(isDb);
    return db === undefined ? withoutDb.runQuery(request) : db.runQuery(request);
  };
  return {
    q: (query, ...args) => runQuery({ query, args }),
    runQuery,
    async *qseq(query, ...args) {
      const db = args.find(isDb);
      if (db === undefined) yield* withoutDb.qseq(query, args);
      else yield* db.runQseq({ query, args });
    },
  };
}
