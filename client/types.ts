//! The public types of the client API: the same for an in-process (embedded) client and, later,
//! a remote one, which is why everything that reads data returns a promise or an async iterable.
import type { Keyword } from '../nodes/values/values.ts';

export type { Keyword };

/** Where a client's databases live: in this process (embedded), or on a node (remote). */
export type ClientConfig =
  /** In process memory: gone when the process exits. For tests and experiments. */
  | { readonly storage: 'memory'; readonly indexing?: IndexingConfig | false }
  /** A local directory (the embedded default): durable, one writing process at a time. */
  | { readonly storage: 'local'; readonly dir: string; readonly indexing?: IndexingConfig | false }
  | RemoteClientConfig;

/** The in-process configurations. */
export type EmbeddedClientConfig = Exclude<ClientConfig, RemoteClientConfig>;

/**
 * A remote client: a node of a system (`factum serve` locally, or a system's endpoint on AWS).
 * Exactly one of `accessKey`, `keyFile` or `credentials` says how it authenticates.
 *
 * @example
 * createClient({ endpoint: 'http://127.0.0.1:8182', system: 'local', keyFile: './data/access/admin/1f2e….json' })
 * createClient({ endpoint: process.env.FACTUM_ENDPOINT, system: 'prod', credentials: { bucket: 'prod-factum-…', region: 'eu-west-1', database: 'shop', permission: 'read-write' } })
 */
export interface RemoteClientConfig {
  /** The node's URL, e.g. `http://127.0.0.1:8182`. */
  readonly endpoint: string;
  /** The system's name. */
  readonly system: string;
  /** The access key itself. */
  readonly accessKey?: { readonly keyId: string; readonly secret: string };
  /** A key file (`factum serve` prints the admin key's). */
  readonly keyFile?: string;
  /** Fetch the key from the system's S3 bucket and unwrap it with KMS, with these AWS settings. */
  readonly credentials?: AccessKeyCredentials;
  /** Milliseconds a call may wait for its answer. @default 60000 */
  readonly timeoutMs?: number;
  /** Retries of busy or unavailable answers and lost connections. @default - 6 attempts, 50 ms to 2 s backoff with jitter */
  readonly retry?: { readonly attemptsMax?: number; readonly backoffBaseMs?: number; readonly backoffMaxMs?: number };
}

/** Where and which access key to fetch: IAM policies on the key prefixes decide which keys a role may fetch. */
export interface AccessKeyCredentials {
  readonly bucket: string;
  readonly region: string;
  /** `admin`, or a database's `read-write` or `read-only` key. */
  readonly permission: 'admin' | 'read-write' | 'read-only';
  /** The database, for `read-write` and `read-only`. */
  readonly database?: string;
  /** @default 'access/' */
  readonly accessPrefix?: string;
  /** The storage's name space in the bucket, if the system has one. @default - none */
  readonly prefix?: string;
  /** @default - the regional endpoint */
  readonly s3Endpoint?: string;
  /** @default - the regional endpoint */
  readonly kmsEndpoint?: string;
  /** @default - the SDK's default provider chain (environment, profile, instance or Lambda role) */
  readonly aws?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
}

/** Datomic's index-pull: the entities of one attribute's datoms, pulled, from a start position. */
export interface IndexPullOptions {
  /** `'avet'` or `'aevt'`. */
  readonly index: string | Keyword;
  /** The pull pattern applied to each datom's entity. */
  readonly selector: PullPattern;
  /** `[attribute]`, then optionally the next components of the index. */
  readonly start: readonly unknown[];
  readonly reverse?: boolean;
  readonly offset?: number;
  readonly limit?: number;
}

/**
 * Durable indexing of an embedded database: transactions are indexed into durable trees in the
 * background, so memory holds only the transactions not yet indexed and a database opens from
 * its index and the log after it. `false` keeps every datom in memory.
 */
export interface IndexingConfig {
  /** Unindexed transactions (estimated bytes) that start an index run. @default - 16 MiB */
  readonly noveltyBytesMax?: number;
  /** Unindexed transactions at which transact refuses with storage/busy until indexing catches up. @default - 4 × noveltyBytesMax */
  readonly backPressureBytes?: number;
  /** Bytes of decoded index segments kept in memory. @default - 256 MiB */
  readonly cacheBytesMax?: number;
  /**
   * Build index runs in a worker thread, so that indexing uses another core while transactions
   * and queries run on this one. @default - true for local storage, false for memory storage
   */
  readonly worker?: boolean;
}

export type IndexName = 'eavt' | 'aevt' | 'avet' | 'vaet';

/** `[e a v tx added]`; `a` is the attribute's entity id (see `db.attribute`/`ident`). */
export interface Datom {
  readonly e: number;
  readonly a: number;
  readonly v: unknown;
  readonly tx: number;
  readonly added: boolean;
}

/**
 * Transaction data: EDN text in Datomic's syntax (`'[{:person/name "Ann"}]'`), or the same as JS
 * data: an array of list forms (`['db/add', 'ann', 'person/name', 'Ann']`) and map forms
 * (`{ 'db/id': 'ann', 'person/name': 'Ann' }`). See docs/values.md.
 */
export type TxData = string | readonly unknown[];

export interface TxReport {
  readonly dbBefore: Db;
  readonly dbAfter: Db;
  readonly txData: readonly Datom[];
  /** Each string tempid of the transaction and the entity id it resolved to. */
  readonly tempids: Readonly<Record<string, number>>;
}

export interface TxRangeEntry {
  readonly t: number;
  readonly data: readonly Datom[];
}

export interface DbStats {
  readonly datoms: number;
  readonly attributes: Readonly<Record<string, { readonly count: number }>>;
}

export interface DatomsOptions {
  /** Skip this many datoms first. */
  readonly offset?: number;
  /** Stop after this many datoms; unlimited by default. */
  readonly limit?: number;
}

/** A db value: immutable, so every call on it answers the same, forever. */
export interface Db {
  /** The t of the newest transaction this db value contains. */
  readonly basisT: number;
  /**
   * The point an `asOf` view was given: a t (a tx id is given back as its t), or the Date itself
   * (Datomic's `as-of-t` also answers the point as given). Null on other views.
   */
  readonly asOfT: number | Date | null;
  /** The point a `since` view was given, as `asOfT`. */
  readonly sinceT: number | Date | null;
  readonly isHistory: boolean;
  /**
   * Datoms of an index in order, narrowed by leading components, lazily:
   * `for await (const d of db.datoms('avet', 'person/email'))`.
   */
  datoms(index: IndexName, components?: readonly unknown[], options?: DatomsOptions): AsyncIterable<Datom>;
  /** AVET datoms of one attribute with `start <= v < end`. */
  indexRange(attribute: unknown, start?: unknown, end?: unknown, options?: DatomsOptions): AsyncIterable<Datom>;
  /** The db as of a t, tx id or instant. */
  asOf(t: number | Date): Db;
  /** Only what was added after a t, tx id or instant. */
  since(t: number | Date): Db;
  /** Every assertion and retraction, ever. */
  history(): Db;
  /** Applies tx-data speculatively; the database itself does not change. */
  with(txData: TxData): Promise<TxReport>;
  stats(): Promise<DbStats>;
  /** The entity id an ident or lookup ref names, or null. */
  entid(ref: unknown): Promise<number | null>;
  /** The ident of an entity, or null. */
  ident(e: number): Promise<Keyword | null>;
  /**
   * The attributes of one entity that `pattern` selects, as a plain object keyed by attribute
   * name: `await db.pull('[:movie/title {:movie/cast [:person/name]}]', [kw('movie/title'), 'Alien'])`.
   */
  pull(pattern: PullPattern, eid: unknown): Promise<Record<string, unknown>>;
  pullMany(pattern: PullPattern, eids: readonly unknown[]): Promise<Array<Record<string, unknown>>>;
  /** Runs a query whose inputs include this db value; use the top-level `q` or `query` instead. */
  runQuery(request: QueryRequest): Promise<unknown>;
  /** A query's results one at a time (relation and collection find specs); use the top-level `qseq`. */
  runQseq(request: QueryRequest): AsyncIterable<unknown>;
  /** Pulls the entity of each datom of one attribute from a start position, lazily (Datomic's index-pull). */
  indexPull(options: IndexPullOptions): AsyncIterable<Record<string, unknown>>;
}

/** Datomic's arg-map form of a query. */
export interface QueryRequest {
  /** EDN text (`'[:find ?e :where [?e :item/sku]]'`) or the same as data. */
  readonly query: string | readonly unknown[] | object;
  /** The inputs, in `:in` order; db values among them stand for `$` sources. */
  readonly args?: readonly unknown[];
  /** Milliseconds; past it the query stops with `query/timeout`. */
  readonly timeout?: number;
  readonly offset?: number;
  readonly limit?: number;
  /**
   * Called once the query has answered, with the segment reads it made per cache level (as
   * Datomic's :io-context reports them). Embedded databases with durable indexes only.
   */
  readonly ioStats?: (stats: IoStats) => void;
}

/** Segment reads per cache level (`memory`, `directory`, `storage`): hits, misses, bytes, ms. */
export type IoStats = Readonly<Record<string, { readonly hits: number; readonly misses: number; readonly bytes: number; readonly ms: number }>>;

/** A pull pattern: EDN text (`'[:a/b {:a/c [*]}]'`) or the same as data. */
export type PullPattern = string | readonly unknown[];

export interface Connection {
  readonly dbName: string;
  /** The newest db value this connection knows. */
  db(): Db;
  /** Commits tx-data; resolves once the transaction is durable. */
  transact(txData: TxData): Promise<TxReport>;
  /** A db value with a basis of at least `t` (now, if no t). */
  sync(t?: number): Promise<Db>;
  /** Transactions from the log with `start <= t < end`. */
  txRange(options?: { readonly start?: number; readonly end?: number }): AsyncIterable<TxRangeEntry>;
  /**
   * Deletes index segments that no index root retired at or after `olderThan` can reach (Datomic's
   * gc-storage; a cutoff later than now counts as now). A db value older than `olderThan` may
   * fail to read afterwards (`storage/segment-not-found`, never a wrong answer): keep the window
   * longer than any db value is held. Resolves with the segments deleted and kept.
   */
  gcStorage(olderThan: Date): Promise<{ readonly deleted: number; readonly kept: number }>;
}

export interface Client {
  listDatabases(): Promise<string[]>;
  /** Creates a database; resolves false if it exists already. */
  createDatabase(name: string): Promise<boolean>;
  /** Deletes a database and its data; resolves false if there was none. */
  deleteDatabase(name: string): Promise<boolean>;
  connect(name: string): Promise<Connection>;
  /** Every segment read of this process so far, per cache level (embedded clients). */
  ioStats(): Promise<IoStats>;
  close(): Promise<void>;
}
