//! What each operation of the HTTP API does on the node: checks its arguments, resolves db
//! references, runs the engine, and shapes the answer for the wire (client/wire/protocol.ts).
//! Handlers answer a value, or a `Stream` of items for lazy results; the server (server.ts)
//! encodes either, and stops a stream's work when its client stops reading.
import type { DbRef, Operation } from '../../client/wire/protocol.ts';
import type { IndexName } from '../../client/types.ts';
import { flattenDatoms, pushDatom } from '../../client/wire/protocol.ts';
import { EmbeddedDb, parseTxData } from '../../client/embedded.ts';
import type { Db } from '../db/db.ts';
import { readDb } from '../db/durable-base.ts';
import type { EntityRef } from '../db/database.ts';
import { processIoStats } from '../cache/io-stats.ts';
import { indexPull, pull, pullMany } from '../pull/index.ts';
import type { DatabaseHandle, Databases } from '../cluster/database-handle.ts';
import type { Cluster } from '../cluster/cluster.ts';
import { fail, isFactumError } from '../util/errors.ts';
import { isLent, type DbRefs } from './db-refs.ts';
import type { QueryPool } from './query-pool.ts';
import type { QueryAnswer, QueryRequest } from './query-protocol.ts';
import { EncodedMessage } from './responses.ts';
import { runQuery } from './run-query.ts';

/** A lazy answer: items in order, in chunks (a chunk a query thread encoded is an EncodedMessage). */
export class Stream {
  constructor(readonly chunks: AsyncIterable<readonly unknown[] | EncodedMessage>) {}
}

export interface OperationContext {
  /** The system's databases: a System (solo) or a Cluster (a node of a group). */
  readonly system: Databases;
  readonly refs: DbRefs;
  /** The longest a query may run, in ms; a query's own timeout is capped by it. */
  readonly queryTimeoutMs: number;
  /** Called when a database is created or deleted (access keys, db values kept). */
  readonly onCreated: (name: string) => Promise<void>;
  readonly onDeleted: (name: string) => Promise<void>;
  /** Called after each transaction (metrics and the transaction log line). */
  readonly onTransaction?: (database: string, t: number, datoms: number, ms: number, duplicate: boolean) => void;
  /** The databases the caller may see in listDatabases (null: all). */
  readonly visibleDatabases: ReadonlySet<string> | null;
  /** The request's signature: the idempotency key of a transaction sent without one. */
  readonly signature: string;
  /** This node's part in a group of nodes (the production topology); null for a solo node on local storage. */
  readonly cluster: Cluster | null;
  /** The threads queries run on (q, qseq); null or absent: they run on the main thread. */
  readonly queries?: QueryPool | null;
  /** This node's ions: revisions, deployments and the running revision (nodes/ions/). */
  readonly ions?: IonOperations | null;
}

/** The ion operations (client/wire/protocol.ts); each checks its own arguments. */
export interface IonOperations {
  push(args: Args): Promise<unknown>;
  revisions(args: Args): Promise<unknown>;
  deploy(args: Args): Promise<unknown>;
  status(args: Args): Promise<unknown>;
  invoke(args: Args): Promise<unknown>;
  /** True while a revision runs on this node (its query functions and xforms are registered). */
  running(): boolean;
}

function ionsOf(context: OperationContext): IonOperations {
  return context.ions ?? fail('ion/unavailable', 'This node serves no ions (it was started without them). Push and deploy through a node of the system.', {});
}

export type Args = Readonly<Record<string, unknown>>;
type Handler = (args: Args, context: OperationContext) => Promise<unknown>;

const CHUNK_ITEMS = 1000;

const indexNames: ReadonlySet<string> = new Set(['eavt', 'aevt', 'avet', 'vaet']);

function wrongType(name: string, value: unknown, expected: string): never {
  return fail('request/wrong-type', `Argument ${name} is ${describe(value)}; expected ${expected}.`, { argument: name, value: describe(value), expected });
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? value.slice(0, 80) + '…' : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  const name = (value as object).constructor?.name;
  return name === undefined || name === 'Object' ? 'an object' : `a ${name}`;
}

const check = {
  string(args: Args, name: string): string {
    const value = args[name];
    return typeof value === 'string' ? value : wrongType(name, value, 'a string');
  },
  optionalString(args: Args, name: string): string | undefined {
    const value = args[name];
    if (value === undefined || value === null) return undefined;
    return typeof value === 'string' ? value : wrongType(name, value, 'a string');
  },
  optionalCount(args: Args, name: string): number | undefined {
    const value = args[name];
    if (value === undefined || value === null) return undefined;
    return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : wrongType(name, value, 'a non-negative integer');
  },
  optionalT(args: Args, name: string): number | undefined {
    return check.optionalCount(args, name);
  },
  array(args: Args, name: string): readonly unknown[] {
    const value = args[name];
    return Array.isArray(value) ? value : wrongType(name, value, 'an array');
  },
  txData(args: Args): string | readonly unknown[] {
    const value = args.txData;
    return typeof value === 'string' || Array.isArray(value) ? value : wrongType('txData', value, 'EDN text or an array of forms');
  },
  ref(value: unknown, name: string): DbRef {
    const ref = value as DbRef;
    const ok =
      typeof ref === 'object' &&
      ref !== null &&
      typeof ref.database === 'string' &&
      Number.isSafeInteger(ref.basisT) &&
      ref.basisT >= 0 &&
      (ref.asOf === undefined || typeof ref.asOf === 'number' || ref.asOf instanceof Date) &&
      (ref.since === undefined || typeof ref.since === 'number' || ref.since instanceof Date) &&
      (ref.history === undefined || typeof ref.history === 'boolean') &&
      (ref.with === undefined || typeof ref.with === 'string');
    return ok ? ref : fail('db/invalid-reference', `Argument ${name} is not a db value reference ({database, basisT, asOf?, since?, history?, with?}), got ${describe(value)}.`, { argument: name });
  },
};

/** The databases an operation's arguments name (for authorization). */
export function databasesOf(operation: Operation, args: Args): string[] {
  switch (operation) {
    case 'listDatabases':
    case 'ioStats':
      return [];
    case 'createDatabase':
    case 'deleteDatabase':
      return [check.string(args, 'name')];
    case 'internalTransact':
    case 'internalFollow':
    case 'internalGcStorage':
      return []; // the admin key's (between nodes)
    case 'ionPush':
    case 'ionRevisions':
    case 'ionDeploy':
    case 'ionStatus':
    case 'ionInvoke':
      return []; // the system's, not a database's
    case 'connect':
    case 'sync':
    case 'transact':
    case 'txRange':
    case 'gcStorage':
      return [check.string(args, 'database')];
    case 'q':
    case 'qseq':
      return queryRefs(args).map(([, ref]) => ref.database);
    default:
      return [check.ref(args.db, 'db').database];
  }
}

/** The positions of db references among a query's args (`dbArgs`), with the references. */
function queryRefs(args: Args): Array<[number, DbRef]> {
  const values = args.args === undefined ? [] : check.array(args, 'args');
  const positions = args.dbArgs === undefined ? [] : check.array(args, 'dbArgs');
  return positions.map((p) => {
    if (typeof p !== 'number' || !Number.isSafeInteger(p) || p < 0 || p >= values.length) wrongType('dbArgs', p, `positions in args (0 to ${values.length - 1})`);
    return [p, check.ref(values[p], `args[${p}]`)] as [number, DbRef];
  });
}

function clusterOf(context: OperationContext): Cluster {
  return context.cluster ?? fail('cluster/read-only-role', 'This node runs alone (local storage): it has no other nodes to serve internal operations to.', {});
}

async function transactorOf(context: OperationContext, database: string): Promise<DatabaseHandle> {
  return context.system.connect(database);
}

/** The db value a `db` argument names. */
async function dbArg(args: Args, context: OperationContext): Promise<Db> {
  const ref = check.ref(args.db, 'db');
  return context.refs.resolve(ref, await transactorOf(context, ref.database));
}

/** Chunks of at most CHUNK_ITEMS items from an async iterable. */
async function* chunked<T>(source: AsyncIterable<T>, map: (item: T, out: unknown[]) => void): AsyncGenerator<unknown[]> {
  let chunk: unknown[] = [];
  let n = 0;
  for await (const item of source) {
    map(item, chunk);
    if (++n === CHUNK_ITEMS) {
      yield chunk;
      chunk = [];
      n = 0;
    }
  }
  if (chunk.length > 0) yield chunk;
}

async function* arrayChunks(items: readonly unknown[]): AsyncGenerator<unknown[]> {
  for (let i = 0; i < items.length; i += CHUNK_ITEMS) yield items.slice(i, i + CHUNK_ITEMS);
}


/** How long `connect` waits for a basis the client has seen and this node has not reached yet. */
const CONNECT_WAIT_MS = 5000;

/** A db value with basis at least `t`, waiting up to `timeoutMs` for it; `db/basis-not-reached` after. */
async function syncWithin(transactor: DatabaseHandle, database: string, t: number | undefined, timeoutMs: number): Promise<Db> {
  try {
    return await transactor.sync(t, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    if ((error as Error).name !== 'TimeoutError') throw error;
    return fail('db/basis-not-reached', `Database ${JSON.stringify(database)} did not reach t ${t} on this node within ${timeoutMs} ms (it is at t ${transactor.db().basisT}). Retry, or check that t came from this system.`, { database, t, timeoutMs });
  }
}

function keepAndRef(context: OperationContext, database: string, transactor: DatabaseHandle, db: Db): DbRef {
  context.refs.keep(transactor, db);
  return context.refs.refOf(database, db);
}

/**
 * q and qseq: the arguments checked here, in order; then the query runs on a query thread when
 * the node has them (query-pool.ts), else here. Either way the answer is the same value, sent the
 * same way (a query thread's is already encoded).
 */
async function answerQuery(args: Args, context: OperationContext, stream: boolean): Promise<unknown> {
  const form = args.query;
  if (typeof form !== 'string' && (typeof form !== 'object' || form === null)) wrongType('query', form, 'EDN text ([:find ...]) or the query as data');
  const values = [...(args.args === undefined ? [] : check.array(args, 'args'))];
  const dbs: Array<{ readonly position: number; readonly ref: DbRef; readonly transactor: DatabaseHandle }> = [];
  for (const [position, ref] of queryRefs(args)) dbs.push({ position, ref, transactor: await transactorOf(context, ref.database) });
  const timeout = check.optionalCount(args, 'timeout');
  const checked = {
    query: form,
    timeoutMs: Math.min(timeout ?? context.queryTimeoutMs, context.queryTimeoutMs),
    offset: check.optionalCount(args, 'offset') ?? null,
    limit: args.limit === -1 ? null : (check.optionalCount(args, 'limit') ?? null),
  };
  const pool = context.queries;
  if (pool !== undefined && pool !== null && pool.available && !dbs.some(({ ref }) => isLent(ref))) {
    const answer = await answerOnPool(pool, { ...checked, args: values, dbs: dbs.map(({ position, ref, transactor }) => ({ position, ref, log: transactor.logName })), stream }, dbs, context.ions?.running() === true);
    if (answer !== onMainThread) return answer;
  }
  let base = null;
  for (const { position, ref, transactor } of dbs) {
    const db = await context.refs.resolve(ref, transactor);
    values[position] = db;
    base ??= db.state.base;
  }
  const result = await runQuery(base, { ...checked, args: values });
  if (!stream) return result;
  if (!Array.isArray(result)) fail('query/invalid-input', 'qseq needs a relation or collection find spec.', {});
  return new Stream(arrayChunks(result as unknown[]));
}

/** What answerOnPool answers when the query is the main thread's to run after all. */
const onMainThread = Symbol('on the main thread');

/**
 * A query run on a query thread, once this node has the bases it names (a query thread reads the
 * log up to them). A basis the thread could not rebuild, which the main thread may still keep
 * (db/basis-not-kept, or a `with` token's base), runs here instead, as do args the wire cannot
 * carry to the thread: the answer is then the main thread's, as it was before there were threads.
 * So does a query naming an ion's function (`ionsRunning`).
 */
async function answerOnPool(pool: QueryPool, request: QueryRequest, dbs: ReadonlyArray<{ readonly ref: DbRef; readonly transactor: DatabaseHandle }>, ionsRunning: boolean): Promise<unknown> {
  for (const { ref, transactor } of dbs) await basisReached(ref, transactor);
  let running: Promise<QueryAnswer>;
  try {
    running = pool.run(request);
  } catch (error) {
    if (isFactumError(error, 'wire/unsupported-value')) return onMainThread;
    throw error;
  }
  let answer: QueryAnswer;
  try {
    answer = await running;
  } catch (error) {
    if (isFactumError(error, 'db/basis-not-kept') || isFactumError(error, 'db/invalid-reference')) return onMainThread;
    // Ions' query functions and xforms are registered on the main thread only: a query naming one
    // runs there (a name unknown there too gets the same error from it).
    if (ionsRunning && (isFactumError(error, 'query/unknown-function') || isFactumError(error, 'pull/invalid-xform'))) return onMainThread;
    throw error;
  }
  if (answer.kind === 'value') return new EncodedMessage(answer.message);
  return new Stream(encodedChunks(answer.chunks));
}

async function* encodedChunks(chunks: Extract<QueryAnswer, { kind: 'items' }>['chunks']): AsyncGenerator<EncodedMessage> {
  for (const chunk of chunks) yield new EncodedMessage(chunk.message, chunk.items);
}

/** How long a query naming a basis this node has not reached yet waits for it (as DbRefs does). */
const BASIS_WAIT_MS = 5000;

/** Waits until this node has the basis `ref` names (a speculative one's base is its own token's: not waited for). */
async function basisReached(ref: DbRef, transactor: DatabaseHandle): Promise<void> {
  const current = transactor.db();
  if (ref.with !== undefined || ref.basisT <= current.basisT) return;
  try {
    await transactor.sync(ref.basisT, { signal: AbortSignal.timeout(BASIS_WAIT_MS) });
  } catch (error) {
    if ((error as Error).name !== 'TimeoutError') throw error;
    fail('db/basis-not-reached', `This node has database ${JSON.stringify(ref.database)} up to t ${current.basisT}, not yet t ${ref.basisT}. Retry shortly (the client does), or sync first.`, { database: ref.database, basisT: ref.basisT, nodeBasisT: current.basisT });
  }
}

export const handlers: Readonly<Record<Operation, Handler>> = {
  ionPush: (args, context) => ionsOf(context).push(args),
  ionRevisions: (args, context) => ionsOf(context).revisions(args),
  ionDeploy: (args, context) => ionsOf(context).deploy(args),
  ionStatus: (args, context) => ionsOf(context).status(args),
  ionInvoke: (args, context) => ionsOf(context).invoke(args),
  async listDatabases(_args, context) {
    const names = await context.system.listDatabases();
    const visible = context.visibleDatabases;
    return visible === null ? names : names.filter((name) => visible.has(name));
  },
  async createDatabase(args, context) {
    const name = check.string(args, 'name');
    const created = await context.system.createDatabase(name);
    await context.onCreated(name);
    return created;
  },
  async deleteDatabase(args, context) {
    const name = check.string(args, 'name');
    const deleted = await context.system.deleteDatabase(name);
    if (deleted) await context.onDeleted(name);
    return deleted;
  },
  async gcStorage(args, context) {
    const olderThan = args.olderThan;
    if (!(olderThan instanceof Date)) wrongType('olderThan', olderThan, 'an instant');
    return (await transactorOf(context, check.string(args, 'database'))).gcStorage(olderThan as Date);
  },
  async ioStats() {
    return processIoStats.snapshot();
  },
  async connect(args, context) {
    const database = check.string(args, 'database');
    // The newest basis the client has seen (through another node, perhaps): answered at or after it.
    const basisT = check.optionalT(args, 'basisT');
    const transactor = await transactorOf(context, database);
    if (basisT === undefined || transactor.db().basisT >= basisT) return keepAndRef(context, database, transactor, transactor.db());
    return keepAndRef(context, database, transactor, await syncWithin(transactor, database, basisT, CONNECT_WAIT_MS));
  },
  async sync(args, context) {
    const database = check.string(args, 'database');
    const t = check.optionalT(args, 't');
    const timeoutMs = Math.min(check.optionalCount(args, 'timeout') ?? 10_000, 60_000);
    const transactor = await transactorOf(context, database);
    // `latest`: every transaction committed before this call, wherever it was sent (a follower reads the log first).
    if (args.latest === true) await transactor.catchUpWithLog?.();
    else if (args.latest !== undefined) wrongType('latest', args.latest, 'true, or nothing');
    return keepAndRef(context, database, transactor, await syncWithin(transactor, database, t, timeoutMs));
  },
  async transact(args, context) {
    const database = check.string(args, 'database');
    const txData = parseTxData(check.txData(args));
    // Without a key of its own, a transaction's key is its request's signature: a replayed request
    // (valid for its 5-minute window) is then answered from the log instead of applied again.
    const given = args.idempotencyKey;
    if (given !== undefined && (typeof given !== 'string' || given.startsWith('sig:'))) wrongType('idempotencyKey', given, "a string not starting with 'sig:' (those are the node's)");
    const key = given ?? (context.signature === '' ? undefined : `sig:${context.signature}`);
    const transactor = await transactorOf(context, database);
    const started = performance.now();
    const report = await transactor.transact(txData, key === undefined ? undefined : { idempotencyKey: key });
    const t = report.t;
    context.onTransaction?.(database, t, report.txData.length, performance.now() - started, report.duplicate);
    // Kept only as exact db values (a forwarded duplicate may answer filtered views of a newer one).
    for (const db of report.duplicate ? [] : [report.dbBefore, report.dbAfter]) if (db.asOfPoint === null) context.refs.keep(transactor, db);
    return {
      dbBefore: { database, basisT: t - 1 },
      dbAfter: { database, basisT: t },
      txData: flattenDatoms(report.txData),
      tempids: report.tempids,
      duplicate: report.duplicate,
    };
  },
  async txRange(args, context) {
    const transactor = await transactorOf(context, check.string(args, 'database'));
    const start = check.optionalT(args, 'start');
    const end = check.optionalT(args, 'end');
    return new Stream(chunked(transactor.txRange(start, end), (entry, out) => out.push({ t: entry.t, data: flattenDatoms(entry.data) })));
  },
  async internalTransact(args, context) {
    const database = check.string(args, 'database');
    const txData = parseTxData(check.txData(args));
    // Counted (metrics, the transaction's log line) by the node that forwarded it, which timed it.
    const report = await clusterOf(context).transactAsLeader(database, txData, check.string(args, 'idempotencyKey'), check.optionalString(args, 'log'));
    return { t: report.t, txData: flattenDatoms(report.txData), tempids: report.tempids, duplicate: report.duplicate };
  },
  async internalFollow(args, context) {
    const from = check.optionalCount(args, 'from') ?? 0;
    return new Stream(await clusterOf(context).followLog(check.string(args, 'database'), from, check.optionalString(args, 'log')));
  },
  async internalGcStorage(args, context) {
    const olderThan = args.olderThan;
    if (!(olderThan instanceof Date)) wrongType('olderThan', olderThan, 'an instant');
    return clusterOf(context).gcAsLeader(check.string(args, 'database'), olderThan as Date, check.optionalString(args, 'log'));
  },
  q: (args, context) => answerQuery(args, context, false),
  qseq: (args, context) => answerQuery(args, context, true),
  async pull(args, context) {
    const db = await dbArg(args, context);
    return readDb(db.state.base, () => pull(db, args.pattern as never, args.eid as EntityRef));
  },
  async pullMany(args, context) {
    const db = await dbArg(args, context);
    const eids = check.array(args, 'eids');
    return readDb(db.state.base, () => pullMany(db, args.pattern as never, eids as EntityRef[]));
  },
  async datoms(args, context) {
    const index = args.index;
    if (typeof index !== 'string' || !indexNames.has(index)) wrongType('index', index, 'one of eavt, aevt, avet, vaet');
    const db = new EmbeddedDb(await dbArg(args, context));
    const components = args.components === undefined ? [] : check.array(args, 'components');
    const options = { offset: check.optionalCount(args, 'offset'), limit: check.optionalCount(args, 'limit') };
    return new Stream(chunked(db.datoms(index as IndexName, components, options), pushDatom));
  },
  async indexRange(args, context) {
    const db = new EmbeddedDb(await dbArg(args, context));
    const options = { offset: check.optionalCount(args, 'offset'), limit: check.optionalCount(args, 'limit') };
    return new Stream(chunked(db.indexRange(args.attribute, args.start ?? null, args.end ?? null, options), pushDatom));
  },
  async indexPull(args, context) {
    const db = await dbArg(args, context);
    const options = args.options as Record<string, unknown> | undefined;
    if (typeof options !== 'object' || options === null) wrongType('options', options, 'an object {index, selector, start, reverse?, offset?, limit?}');
    const results = await readDb(db.state.base, () => indexPull(db, options as never));
    return new Stream(arrayChunks(results));
  },
  async with(args, context) {
    const ref = check.ref(args.db, 'db');
    const transactor = await transactorOf(context, ref.database);
    const db = await context.refs.resolve(ref, transactor);
    const txData = parseTxData(check.txData(args));
    const report = await readDb(db.state.base, () => db.with(txData));
    const token = context.refs.sealWith(transactor, ref.with, db, report.dbAfter, report.txData);
    return {
      dbBefore: ref,
      dbAfter: context.refs.refOf(ref.database, report.dbAfter, token),
      txData: flattenDatoms(report.txData),
      tempids: report.tempids,
    };
  },
  async stats(args, context) {
    return new EmbeddedDb(await dbArg(args, context)).stats();
  },
  async entid(args, context) {
    return new EmbeddedDb(await dbArg(args, context)).entid(args.ref);
  },
  async ident(args, context) {
    const e = args.e;
    if (typeof e !== 'number') wrongType('e', e, 'an entity id');
    return new EmbeddedDb(await dbArg(args, context)).ident(e as number);
  },
};
