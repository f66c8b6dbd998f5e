//! The list-append workload against factum's client API (embedded or remote, the same code):
//! concurrent processes run transactions of 1–4 micro-ops (reads, and appends of unique values)
//! over a few keys, and record the history for checkListAppend (list-append.ts).
//!
//! How a key's list lives in factum: one entity per key, named by `:list/key` (a string,
//! `:db.unique/identity`), its list as JSON text in `:list/value` (a cardinality-one string).
//! A transaction touching keys k1..kn sends, for every key it reads or appends to,
//!
//!   {:db/id "k1" :list/key "k1"}  [:db/cas "k1" :list/value <text read> <new text>]
//!
//! where the new text adds the appends (or is the text read, unchanged, for a key only read; an
//! absent list is compared as nil and written as "[]"). The upsert makes the entity on first use.
//! Every :db/cas is checked against the transaction's db-before, so the transaction commits only
//! if no key it touched changed since it read them: appends are atomic and ordered, and what it
//! read is exactly its db-before's lists. A lost race (transact/cas-failed) changed nothing and
//! is retried with fresh reads, up to `casAttemptsMax` times, then recorded as `fail`. No
//! transaction function is needed, so the same workload runs against a remote node in another
//! process without deploying code.
//!
//! What a read means: as in Datomic, a transaction is evaluated against its db-before, so every
//! read of a transaction sees the lists as they were before it, never its own appends. Jepsen's
//! 2024 analysis of Datomic describes exactly this (operations inside a transaction behave as if
//! evaluated concurrently, on the state at its start), which Datomic documents as intended; so
//! this is checked with `reads: 'db-before'`, not as an internal anomaly. The reads are recorded
//! from the transaction report's dbBefore (or, if that read fails after the commit, from the
//! values the :db/cas compared, which the commit proves equal).
//!
//! Outcomes: committed is `ok` (with the t of its db-after); refused for certain (cas attempts
//! exhausted, an incorrect, forbidden, not-found or conflict error, or a failure before anything
//! was sent) is `fail`; anything else (a timeout, a lost connection, a busy or unavailable node
//! after the client's own retries) is `info`, and the process goes on under a new number, since
//! the transaction may still land.
import { q } from '../../client/index.ts';
import type { Client, Connection, Db } from '../../client/types.ts';
import { FactumError, isFactumError } from '../../nodes/util/errors.ts';
import { seededRandom } from '../../nodes/util/random.ts';
import { connectRetrying, definitelyRefused } from './client-outcomes.ts';
import { History, type MicroOp } from './history.ts';

export interface ListAppendWorkloadOptions {
  /** @default 'list-append' */
  readonly database?: string;
  /** Concurrent processes, spread over the clients given in turn. @default 5 */
  readonly processes?: number;
  /** Invocations in all; the run ends when they are done (or at `durationMs`). @default 100 */
  readonly transactions?: number;
  /** No invocation starts after this many milliseconds. @default - no limit */
  readonly durationMs?: number;
  /** Keys in use at a time. @default 3 */
  readonly keys?: number;
  /** Appends a key gets before it retires for a fresh one (keeps lists, and each rewrite, short). @default 64 */
  readonly appendsPerKeyMax?: number;
  /** @default 10 */
  readonly casAttemptsMax?: number;
  /** @default 1 */
  readonly seed?: number;
  /**
   * After the run, one more transaction reads every key used, retried (as new transactions)
   * until one commits or `finalReadMs` pass: every acknowledged append must be in it.
   * @default false
   */
  readonly finalRead?: boolean;
  /** @default 60000 */
  readonly finalReadMs?: number;
}

export interface ListAppendRun {
  readonly history: History;
  /** Transactions retried after losing a :db/cas race. */
  readonly casRetries: number;
}

const SCHEMA = `[{:db/ident :list/key :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
  {:db/ident :list/value :db/valueType :db.type/string :db/cardinality :db.cardinality/one}]`;

/** Creates the database (unless it exists) and installs the two attributes (a repeat changes nothing). */
export async function prepareListAppend(client: Client, database = 'list-append'): Promise<void> {
  await client.createDatabase(database);
  const conn = await client.connect(database);
  await conn.transact(SCHEMA);
}

/**
 * Runs the workload and answers its history; prepareListAppend must have run first.
 *
 * @example
 * await prepareListAppend(client);
 * const { history } = await runListAppendWorkload([client], { processes: 5, transactions: 200 });
 * expect(checkListAppend(history.ops, { consistency: 'strict-serializable' }).valid).toBe(true);
 */
export async function runListAppendWorkload(clients: readonly Client[], options: ListAppendWorkloadOptions = {}): Promise<ListAppendRun> {
  const { database = 'list-append', processes = 5, transactions = 100, durationMs = Infinity, keys = 3, appendsPerKeyMax = 64, casAttemptsMax = 10, seed = 1, finalRead = false, finalReadMs = 60_000 } = options;
  if (clients.length === 0 || !(processes >= 1 && keys >= 1 && appendsPerKeyMax >= 1 && casAttemptsMax >= 1)) {
    throw new FactumError('check/invalid-option', `The list-append workload needs at least one client, process, key, append per key and cas attempt; got ${clients.length} clients and ${JSON.stringify(options)}.`, { clients: clients.length, options });
  }
  const history = new History();
  const generator = new TxnGenerator(seededRandom(seed), keys, appendsPerKeyMax);
  const start = performance.now();
  const now = () => Math.round(performance.now() - start);
  let invoked = 0;
  let nextProcess = processes;
  let casRetries = 0;
  const more = () => invoked < transactions && now() < durationMs;

  const runProcess = async (slot: number) => {
    const client = clients[slot % clients.length]!;
    let conn: Connection | null = null;
    let process = slot;
    while (more()) {
      conn ??= await connectRetrying(client, database, more);
      if (conn === null || !more()) return;
      invoked += 1;
      const txn = generator.next();
      history.invoke(process, txn, now());
      const outcome = await execute(conn, txn, casAttemptsMax);
      casRetries += outcome.casRetries;
      history.complete(process, outcome.type, outcome.txn, now(), outcome.t);
      if (outcome.type === 'info') process = nextProcess++;
    }
  };
  await Promise.all(Array.from({ length: processes }, (_, slot) => runProcess(slot)));
  if (finalRead) {
    const keysUsed = generator.usedKeys();
    await readEveryKey(clients[0]!, database, keysUsed, { history, now, deadline: now() + finalReadMs, firstProcess: nextProcess, casAttemptsMax });
  }
  return { history, casRetries };
}

/** One transaction reading every key, retried as new transactions (new processes) until one commits or the deadline passes. */
async function readEveryKey(client: Client, database: string, keys: readonly string[], run: { history: History; now: () => number; deadline: number; firstProcess: number; casAttemptsMax: number }): Promise<void> {
  const { history, now, deadline, casAttemptsMax } = run;
  const txn = keys.map((key): MicroOp => ['r', key, null]);
  const conn = await connectRetrying(client, database, () => now() < deadline);
  for (let process = run.firstProcess, wait = 100; conn !== null && now() < deadline; process++, wait = Math.min(wait * 2, 2000)) {
    history.invoke(process, txn, now());
    const outcome = await execute(conn, txn, casAttemptsMax);
    history.complete(process, outcome.type, outcome.txn, now(), outcome.t);
    if (outcome.type === 'ok') return;
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

/** Micro-ops from a seed over a pool of keys; a key that had its appends retires for a new one. */
class TxnGenerator {
  private readonly pool: string[];
  private readonly appends = new Map<string, number>();
  private nextKey: number;
  private nextValue = 1;

  constructor(
    private readonly random: () => number,
    keys: number,
    private readonly appendsPerKeyMax: number,
  ) {
    this.pool = Array.from({ length: keys }, (_, i) => String(i));
    this.nextKey = keys;
  }

  /** Every key handed out so far, retired or not. */
  usedKeys(): string[] {
    return Array.from({ length: this.nextKey }, (_, i) => String(i));
  }

  next(): MicroOp[] {
    return Array.from({ length: 1 + Math.floor(this.random() * 4) }, (): MicroOp => {
      const slot = Math.floor(this.random() * this.pool.length);
      const key = this.pool[slot]!;
      if (this.random() < 0.5) return ['r', key, null];
      const count = (this.appends.get(key) ?? 0) + 1;
      this.appends.set(key, count);
      if (count >= this.appendsPerKeyMax) this.pool[slot] = String(this.nextKey++);
      return ['append', key, this.nextValue++];
    });
  }
}

interface Outcome {
  readonly type: 'ok' | 'fail' | 'info';
  /** The completed micro-ops (ok), or null to repeat the invocation's. */
  readonly txn: MicroOp[] | null;
  readonly t?: number;
  readonly casRetries: number;
}

async function execute(conn: Connection, txn: readonly MicroOp[], casAttemptsMax: number): Promise<Outcome> {
  const keys = [...new Set(txn.map((m) => m[1]))];
  for (let attempt = 0; attempt < casAttemptsMax; attempt++) {
    let texts: Map<string, string>;
    try {
      texts = await readTexts(attempt === 0 ? conn.db() : await conn.sync(), keys);
    } catch {
      // Nothing was sent to be written yet: this transaction certainly did not happen.
      return { type: 'fail', txn: null, casRetries: attempt };
    }
    let report;
    try {
      report = await conn.transact(keys.flatMap((key) => casOf(key, texts.get(key), txn)));
    } catch (error) {
      if (isFactumError(error, 'transact/cas-failed')) continue;
      return { type: definitelyRefused(error) ? 'fail' : 'info', txn: null, casRetries: attempt };
    }
    const readKeys = keys.filter((key) => txn.some((m) => m[0] === 'r' && m[1] === key));
    // The :db/cas of every key proves these equal to the dbBefore's lists; reading those is the check.
    const before = await readTexts(report.dbBefore, readKeys).catch(() => texts);
    const completed = txn.map((m): MicroOp => (m[0] === 'r' ? ['r', m[1], parseList(before.get(m[1]))] : m));
    return { type: 'ok', txn: completed, t: report.dbAfter.basisT, casRetries: attempt };
  }
  return { type: 'fail', txn: null, casRetries: casAttemptsMax - 1 };
}

/** The upsert and :db/cas of one key: unchanged for a key only read, the appends added otherwise. */
function casOf(key: string, text: string | undefined, txn: readonly MicroOp[]): unknown[] {
  const appended = txn.flatMap((m) => (m[0] === 'append' && m[1] === key ? [m[2]] : []));
  const next = appended.length === 0 ? (text ?? '[]') : JSON.stringify([...parseList(text), ...appended]);
  const tempid = `key ${key}`;
  return [{ 'db/id': tempid, 'list/key': key }, ['db/cas', tempid, 'list/value', text ?? null, next]];
}

async function readTexts(db: Db, keys: readonly string[]): Promise<Map<string, string>> {
  if (keys.length === 0) return new Map();
  const rows = (await q('[:find ?k ?v :in $ [?k ...] :where [?e :list/key ?k] [?e :list/value ?v]]', db, keys)) as Array<[string, string]>;
  return new Map(rows);
}

function parseList(text: string | undefined): number[] {
  return text === undefined ? [] : (JSON.parse(text) as number[]);
}
