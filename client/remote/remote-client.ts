//! The remote client: the same `Client`, `Connection` and `Db` as the embedded client
//! (client/types.ts), over HTTP to a node. It imports nothing of the engine.
//!
//! A connection knows the newest basis t it has seen of its database (from connect, its own
//! transactions, sync, and every answer that names the node's basis), and `db()` is that db
//! value, at once, as Datomic's client does. A db value is a reference (client/wire/protocol.ts):
//! `asOf`, `since` and `history` make new references without a call.
//!
//! `transact` sends an idempotency key it chose, and on a lost answer retries with the same key:
//! the node applies the transaction once and answers the retry with the original result.
import { randomUUID } from 'node:crypto';
import { toT } from '../../nodes/datom/datom.ts';
import { FactumError } from '../../nodes/util/errors.ts';
import type { Keyword } from '../../nodes/values/values.ts';
import type { Client, Connection, Datom, DatomsOptions, Db, DbStats, IndexName, IndexPullOptions, IoStats, PullPattern, QueryRequest, RemoteClientConfig, TxData, TxRangeEntry, TxReport } from '../types.ts';
import type { DbRef } from '../wire/protocol.ts';
import { Transport } from './transport.ts';
import { resolveAccessKey } from './resolve-key.ts';

/** A datom as the remote client hands it out. */
class WireDatom implements Datom {
  constructor(
    readonly e: number,
    readonly a: number,
    readonly v: unknown,
    readonly tx: number,
    readonly added: boolean,
  ) {}
}

function datomsOf(flat: readonly unknown[]): Datom[] {
  const out: Datom[] = [];
  for (let i = 0; i < flat.length; i += 5) out.push(new WireDatom(flat[i] as number, flat[i + 1] as number, flat[i + 2], flat[i + 3] as number, flat[i + 4] as boolean));
  return out;
}

function checkTxData(txData: TxData): TxData {
  if (typeof txData !== 'string' && !Array.isArray(txData)) {
    throw new FactumError('transact/malformed', `tx-data must be EDN text or an array of forms, got ${typeof txData}.`, { value: typeof txData });
  }
  return txData;
}

function checkPoint(t: number | Date, operation: string): number | Date {
  if (t instanceof Date) {
    if (Number.isNaN(t.getTime())) throw new FactumError('db/invalid-t', `${operation} was given an invalid Date.`, { value: String(t) });
    return new Date(t.getTime());
  }
  if (!Number.isSafeInteger(t) || t < 0) throw new FactumError('db/invalid-t', `${operation} expects a t, a tx id or a Date, got ${String(t)}.`, { value: t });
  return toT(t);
}

export function openRemoteClient(config: RemoteClientConfig): Client {
  const transport = new Transport({
    endpoint: config.endpoint,
    system: config.system,
    key: resolveAccessKey(config),
    ...(config.timeoutMs === undefined ? {} : { timeoutMs: config.timeoutMs }),
    ...(config.retry === undefined ? {} : { retry: config.retry }),
  });
  let closed = false;
  // The newest basis t this client has seen of each database, through any of its connections: a
  // new connection starts there, so a client reads its own writes whichever node answers.
  const seen = new Map<string, number>();
  const open = (): Transport => {
    if (closed) throw new FactumError('client/closed', 'This client is closed; create a new one.', {});
    return transport;
  };
  return {
    listDatabases: async () => (await open().call('listDatabases', {}, { idempotent: true })).value as string[],
    createDatabase: async (name) => (await open().call('createDatabase', { name }, { idempotent: false })).value as boolean,
    deleteDatabase: async (name) => {
      const deleted = (await open().call('deleteDatabase', { name }, { idempotent: false })).value as boolean;
      seen.delete(name); // a database made again under the name starts from t 0
      return deleted;
    },
    connect: async (name) => {
      const basisT = seen.get(name);
      const ref = (await open().call('connect', { database: name, ...(basisT === undefined ? {} : { basisT }) }, { idempotent: true })).value as DbRef;
      return new RemoteConnection(open(), name, ref, seen);
    },
    ioStats: async () => (await open().call('ioStats', {}, { idempotent: true })).value as IoStats,
    close: async () => {
      closed = true;
      transport.close();
    },
  };
}

class RemoteConnection implements Connection {
  private latest: DbRef;

  constructor(
    readonly transport: Transport,
    readonly dbName: string,
    ref: DbRef,
    private readonly seen: Map<string, number>,
  ) {
    this.latest = ref;
    this.saw(ref.basisT);
  }

  /** Moves the newest known basis forward (never back), here and for the client's later connections. */
  saw(basisT: number | null): void {
    if (basisT === null) return;
    if (basisT > this.latest.basisT) this.latest = { database: this.dbName, basisT };
    if (basisT > (this.seen.get(this.dbName) ?? -1)) this.seen.set(this.dbName, basisT);
  }

  db(): Db {
    return new RemoteDb(this, this.latest);
  }

  async transact(txData: TxData): Promise<TxReport> {
    const answer = await this.transport.call('transact', { database: this.dbName, txData: checkTxData(txData), idempotencyKey: randomUUID() }, { idempotent: true });
    const report = answer.value as { dbBefore: DbRef; dbAfter: DbRef; txData: unknown[]; tempids: Record<string, number> };
    this.saw(report.dbAfter.basisT);
    this.saw(answer.basisT);
    return this.report(report);
  }

  report(report: { dbBefore: DbRef; dbAfter: DbRef; txData: unknown[]; tempids: Record<string, number> }): TxReport {
    return { dbBefore: new RemoteDb(this, report.dbBefore), dbAfter: new RemoteDb(this, report.dbAfter), txData: datomsOf(report.txData), tempids: report.tempids };
  }

  async sync(t?: number): Promise<Db> {
    if (t !== undefined && (!Number.isSafeInteger(t) || t < 0)) throw new FactumError('db/invalid-t', `sync expects a t, got ${String(t)}.`, { value: t });
    // Without a t: every transaction committed before the call (`latest`: a following node reads the
    // log first), and at least the newest basis this client has seen, so that what it saw
    // acknowledged (through whichever node) is in the answer even when another node answers.
    const floor = t ?? this.seen.get(this.dbName) ?? this.latest.basisT;
    const answer = await this.transport.call('sync', { database: this.dbName, t: floor, ...(t === undefined ? { latest: true } : {}) }, { idempotent: true });
    const ref = answer.value as DbRef;
    this.saw(ref.basisT);
    return new RemoteDb(this, ref);
  }

  async *txRange(options: { readonly start?: number; readonly end?: number } = {}): AsyncGenerator<TxRangeEntry> {
    for await (const item of this.transport.stream('txRange', { database: this.dbName, ...options })) {
      const entry = item as { t: number; data: unknown[] };
      yield { t: entry.t, data: datomsOf(entry.data) };
    }
  }

  async gcStorage(olderThan: Date): Promise<{ readonly deleted: number; readonly kept: number }> {
    if (!(olderThan instanceof Date) || Number.isNaN(olderThan.getTime())) {
      throw new FactumError('index/invalid-option', `gcStorage expects a valid Date (segments unreachable from roots retired before it are deleted), got ${String(olderThan)}.`, { olderThan: String(olderThan) });
    }
    return (await this.transport.call('gcStorage', { database: this.dbName, olderThan }, { idempotent: true })).value as { deleted: number; kept: number };
  }
}

export class RemoteDb implements Db {
  constructor(
    private readonly connection: RemoteConnection,
    readonly ref: DbRef,
  ) {}

  get basisT(): number {
    return this.ref.basisT;
  }
  get asOfT(): number | Date | null {
    return this.ref.asOf ?? null;
  }
  get sinceT(): number | Date | null {
    return this.ref.since ?? null;
  }
  get isHistory(): boolean {
    return this.ref.history === true;
  }

  private async call(operation: 'pull' | 'pullMany' | 'with' | 'stats' | 'entid' | 'ident', args: object): Promise<unknown> {
    const answer = await this.connection.transport.call(operation, { db: this.ref, ...args }, { idempotent: true });
    this.connection.saw(answer.basisT);
    return answer.value;
  }

  async *datoms(index: IndexName, components: readonly unknown[] = [], options: DatomsOptions = {}): AsyncGenerator<Datom> {
    yield* this.streamDatoms(this.connection.transport.streamChunks('datoms', { db: this.ref, index, components, ...options }));
  }

  async *indexRange(attribute: unknown, start?: unknown, end?: unknown, options: DatomsOptions = {}): AsyncGenerator<Datom> {
    yield* this.streamDatoms(this.connection.transport.streamChunks('indexRange', { db: this.ref, attribute, start: start ?? null, end: end ?? null, ...options }));
  }

  private async *streamDatoms(chunks: AsyncIterable<readonly unknown[]>): AsyncGenerator<Datom> {
    for await (const chunk of chunks) yield* datomsOf(chunk);
  }

  indexPull(options: IndexPullOptions): AsyncIterable<Record<string, unknown>> {
    return this.connection.transport.stream('indexPull', { db: this.ref, options }) as AsyncIterable<Record<string, unknown>>;
  }

  asOf(t: number | Date): Db {
    return new RemoteDb(this.connection, { ...this.ref, asOf: checkPoint(t, 'asOf') });
  }
  since(t: number | Date): Db {
    return new RemoteDb(this.connection, { ...this.ref, since: checkPoint(t, 'since') });
  }
  history(): Db {
    return new RemoteDb(this.connection, { ...this.ref, history: true });
  }
  async with(txData: TxData): Promise<TxReport> {
    return this.connection.report((await this.call('with', { txData: checkTxData(txData) })) as never);
  }
  async stats(): Promise<DbStats> {
    return (await this.call('stats', {})) as DbStats;
  }
  async entid(ref: unknown): Promise<number | null> {
    return (await this.call('entid', { ref })) as number | null;
  }
  async ident(e: number): Promise<Keyword | null> {
    return (await this.call('ident', { e })) as Keyword | null;
  }
  async pull(pattern: PullPattern, eid: unknown): Promise<Record<string, unknown>> {
    return (await this.call('pull', { pattern, eid })) as Record<string, unknown>;
  }
  async pullMany(pattern: PullPattern, eids: readonly unknown[]): Promise<Array<Record<string, unknown>>> {
    return (await this.call('pullMany', { pattern, eids })) as Array<Record<string, unknown>>;
  }
  async runQuery(request: QueryRequest): Promise<unknown> {
    const answer = await this.connection.transport.call('q', queryArgs(request), { idempotent: true, extraMs: request.timeout ?? 0, retryTimeout: false });
    return answer.value;
  }
  runQseq(request: QueryRequest): AsyncIterable<unknown> {
    return this.connection.transport.stream('qseq', queryArgs(request), { extraMs: request.timeout ?? 0, retryTimeout: false });
  }
}

/** A query's arguments for the wire: db values become references, their positions listed. */
function queryArgs(request: QueryRequest): object {
  const dbArgs: number[] = [];
  const args = (request.args ?? []).map((arg, i) => {
    if (arg instanceof RemoteDb) {
      dbArgs.push(i);
      return arg.ref;
    }
    return arg;
  });
  const { timeout, offset, limit } = request;
  return { query: request.query, args, dbArgs, ...(timeout === undefined ? {} : { timeout }), ...(offset === undefined ? {} : { offset }), ...(limit === undefined ? {} : { limit }) };
}
