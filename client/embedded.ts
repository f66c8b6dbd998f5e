//! The in-process client: the client API over an engine running in this process. Loaded by
//! `createClient` on first use, never statically, so remote clients do not carry the engine.
import type { Db as EngineDb, TxReport as EngineReport } from '../nodes/db/db.ts';
import { readEdn } from '../nodes/edn/reader.ts';
import { createMemoryStorage, openLocalStorage } from '../nodes/storage/index.ts';
import type { Transactor } from '../nodes/transactor/transactor.ts';
import { System } from '../nodes/transactor/system.ts';
import { FactumError } from '../nodes/util/errors.ts';
import { readDb } from '../nodes/db/durable-base.ts';
import { IoContext, processIoStats } from '../nodes/cache/io-stats.ts';
import { SegmentNotResident } from '../nodes/btree/durable-tree.ts';
import type { Keyword } from '../nodes/values/values.ts';
import type { Client, Connection, Datom, DatomsOptions, Db, DbStats, EmbeddedClientConfig, IndexName, IndexPullOptions, PullPattern, QueryRequest, TxData, TxReport } from './types.ts';
import type { EntityRef } from '../nodes/db/database.ts';
import { indexPull, pull, pullMany } from '../nodes/pull/index.ts';
import { query } from '../nodes/query/index.ts';

export async function openEmbeddedClient(config: EmbeddedClientConfig): Promise<Client> {
  const storage = config.storage === 'memory' ? createMemoryStorage() : await openLocalStorage(config.dir);
  const indexing = config.indexing === false ? false : { worker: config.storage === 'local', ...config.indexing };
  const system = new System(storage, { indexing });
  return {
    listDatabases: () => system.listDatabases(),
    createDatabase: (name) => system.createDatabase(name),
    deleteDatabase: (name) => system.deleteDatabase(name),
    connect: async (name) => new EmbeddedConnection(name, await system.connect(name)),
    ioStats: async () => processIoStats.snapshot(),
    close: () => system.close(),
  };
}

/** Tx-data as the engine takes it: EDN text is read first. */
export function parseTxData(txData: TxData): unknown {
  if (typeof txData === 'string') return readEdn(txData);
  if (!Array.isArray(txData)) {
    throw new FactumError('transact/malformed', `tx-data must be EDN text or an array of forms, got ${typeof txData}.`, { value: txData });
  }
  return txData;
}

class EmbeddedConnection implements Connection {
  constructor(
    readonly dbName: string,
    private readonly transactor: Transactor,
  ) {}

  db(): Db {
    return new EmbeddedDb(this.transactor.db());
  }

  async transact(txData: TxData): Promise<TxReport> {
    return wrapReport(await this.transactor.transact(parseTxData(txData)));
  }

  async sync(t?: number): Promise<Db> {
    return new EmbeddedDb(await this.transactor.sync(t));
  }

  txRange(options: { start?: number; end?: number } = {}): AsyncIterable<{ t: number; data: readonly Datom[] }> {
    return this.transactor.txRange(options.start, options.end);
  }

  async gcStorage(olderThan: Date): Promise<{ deleted: number; kept: number }> {
    if (!(olderThan instanceof Date) || Number.isNaN(olderThan.getTime())) {
      throw new FactumError('index/invalid-option', `gcStorage expects a valid Date (segments unreachable from roots retired before it are deleted), got ${String(olderThan)}.`, { olderThan: String(olderThan) });
    }
    return this.transactor.gcStorage(olderThan);
  }
}

function wrapReport(report: EngineReport): TxReport {
  return { dbBefore: new EmbeddedDb(report.dbBefore), dbAfter: new EmbeddedDb(report.dbAfter), txData: report.txData, tempids: report.tempids };
}

/**
 * Datoms are handed out lazily so a long scan never holds more than it must. On a durable base,
 * a scan that reaches a segment not in memory loads it and starts over, skipping the datoms it
 * already handed out (the db value is immutable, so they come again in the same order).
 */
async function* limited(engine: EngineDb, source: () => Iterable<Datom>, options: DatomsOptions = {}): AsyncGenerator<Datom> {
  const offset = options.offset ?? 0;
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  let read = 0; // datoms of the scan consumed so far (skipped or handed out)
  let sinceYield = 0;
  for (;;) {
    let seen = 0;
    try {
      for (const datom of source()) {
        if (seen++ < read) continue;
        read++;
        if (read - offset > limit) return;
        if (read <= offset) continue;
        yield datom;
        if (++sinceYield === 1000) {
          sinceYield = 0;
          await new Promise<void>((resolve) => setImmediate(resolve)); // let other work run during long scans
        }
      }
      return;
    } catch (error) {
      const base = engine.state.base;
      if (!(error instanceof SegmentNotResident) || base === null) throw error;
      await (error.load === undefined ? base.load(error.address) : error.load());
    }
  }
}

/** Runs a reader of an engine db value, loading segments it needs (see nodes/db/durable-base.ts). */
function read<T>(engine: EngineDb, reader: () => T): Promise<T> {
  return readDb(engine.state.base, reader);
}

export class EmbeddedDb implements Db {
  constructor(readonly engine: EngineDb) {}

  get basisT(): number {
    return this.engine.basisT;
  }
  get asOfT(): number | Date | null {
    return this.engine.asOfPoint;
  }
  get sinceT(): number | Date | null {
    return this.engine.sincePoint;
  }
  get isHistory(): boolean {
    return this.engine.isHistory;
  }

  datoms(index: IndexName, components: readonly unknown[] = [], options?: DatomsOptions): AsyncIterable<Datom> {
    return limited(this.engine, () => this.engine.datoms(index, ...components), options);
  }

  indexRange(attribute: unknown, start?: unknown, end?: unknown, options?: DatomsOptions): AsyncIterable<Datom> {
    return limited(this.engine, () => this.engine.indexRange(attribute as number, start, end), options);
  }

  asOf(t: number | Date): Db {
    return new EmbeddedDb(this.engine.asOf(t));
  }
  since(t: number | Date): Db {
    return new EmbeddedDb(this.engine.since(t));
  }
  history(): Db {
    return new EmbeddedDb(this.engine.history());
  }
  async with(txData: TxData): Promise<TxReport> {
    const parsed = parseTxData(txData);
    return wrapReport(await read(this.engine, () => this.engine.with(parsed)));
  }
  async stats(): Promise<DbStats> {
    return read(this.engine, () => this.engine.stats());
  }
  async entid(ref: unknown): Promise<number | null> {
    return read(this.engine, () => this.engine.entid(ref as number));
  }
  async ident(e: number): Promise<Keyword | null> {
    return this.engine.ident(e);
  }
  async pull(pattern: PullPattern, eid: unknown): Promise<Record<string, unknown>> {
    return read(this.engine, () => pull(this.engine, pattern, eid as EntityRef));
  }
  async runQuery(request: QueryRequest): Promise<unknown> {
    const args = (request.args ?? []).map((x) => (x instanceof EmbeddedDb ? x.engine : x));
    const base = args.find((x): x is EngineDb => (x as EngineDb | null)?.state?.base != null)?.state.base ?? null;
    const { ioStats, ...rest } = request;
    const context = ioStats === undefined ? undefined : new IoContext();
    const result = await readDb(base, () => query({ ...rest, args }), context);
    if (ioStats !== undefined) ioStats(context!.snapshot());
    return result;
  }
  async pullMany(pattern: PullPattern, eids: readonly unknown[]): Promise<Array<Record<string, unknown>>> {
    return read(this.engine, () => pullMany(this.engine, pattern, eids as EntityRef[]));
  }
  async *runQseq(request: QueryRequest): AsyncGenerator<unknown> {
    // The :where is solved at once (as Datomic's qseq does); rows are handed out one at a time.
    const result = await this.runQuery(request);
    if (!Array.isArray(result)) throw new FactumError('query/invalid-input', 'qseq needs a relation or collection find spec.', {});
    yield* result;
  }
  async *indexPull(options: IndexPullOptions): AsyncGenerator<Record<string, unknown>> {
    yield* await read(this.engine, () => indexPull(this.engine, options as never));
  }
}
