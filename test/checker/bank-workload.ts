//! The bank workload (issue 19): concurrent processes move amounts between a few accounts and
//! read every balance, and the checker asks of every db value seen — each read, and afterwards the
//! database as of every t of the run — that the balances add up to the same total and none is
//! negative. A transfer that loses or doubles money, a read of a torn transaction, or an asOf view
//! of the past that differs from what was current then, shows as a wrong total.
//!
//! Accounts: one entity each, `:account/id` (a long, :db.unique/identity) and `:account/balance`
//! (a long). A transfer is either
//!   'function'  [:factum.check/transfer from to amount]: a transaction function (registered in
//!               this process by registerBankTransfer) reads both balances in its db-before and
//!               refuses an overdraft; for an embedded client or a node in this process;
//!   'ion'       [:bank/transfer [:account/id from] [:account/id to] amount]: the example ion
//!               application's transaction function (ions/examples), deployed onto the nodes;
//!   'cas'       the balances read from a db value, then [:db/cas] of both, retried on a lost
//!               race; for remote nodes in other processes (no code to deploy).
//! A read takes one db value (the connection's newest, or after `sync`) and every balance in it.
//! Outcomes are recorded as in the list-append workload: ok, fail (certainly not applied: an
//! overdraft, a lost cas race after all attempts) or info (unknown).
import type { Client, Connection, Db as ClientDb } from '../../client/types.ts';
import type { Db as EngineDb } from '../../nodes/db/db.ts';
import { registerTxFunction } from '../../nodes/tx/functions.ts';
import { FactumError, isFactumError } from '../../nodes/util/errors.ts';
import { seededRandom } from '../../nodes/util/random.ts';
import { q } from '../../client/index.ts';
import { connectRetrying, definitelyRefused } from './client-outcomes.ts';

export interface BankOptions {
  /** @default 'bank' */
  readonly database?: string;
  /** @default 5 */
  readonly accounts?: number;
  /** Each account's opening balance. @default 100 */
  readonly opening?: number;
}

export interface BankWorkloadOptions extends BankOptions {
  readonly transfer: 'function' | 'ion' | 'cas';
  /** @default 5 */
  readonly processes?: number;
  /** Operations in all (transfers and reads, half each); the run ends when they are done (or at `durationMs`). @default 200 */
  readonly operations?: number;
  /** No operation starts after this many milliseconds. @default - no limit */
  readonly durationMs?: number;
  /** @default 1 */
  readonly seed?: number;
  /** @default 10 */
  readonly casAttemptsMax?: number;
}

/** The balances of one db value, by account id. */
export interface BalanceRead {
  readonly process: number;
  readonly t: number;
  /** Whether it was the database as of a past t (after the run) rather than a read during it. */
  readonly asOf: boolean;
  readonly balances: ReadonlyMap<number, number>;
}

export interface BankRun {
  readonly total: number;
  readonly reads: readonly BalanceRead[];
  readonly transfers: { ok: number; fail: number; info: number };
}

export interface BankAnomaly {
  readonly kind: 'wrong-total' | 'negative-balance' | 'missing-account';
  readonly explanation: string;
  readonly read: BalanceRead;
}

const TRANSFER = 'factum.check/transfer';

const SCHEMA = `[{:db/ident :account/id :db/valueType :db.type/long :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
  {:db/ident :account/balance :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]`;

/**
 * Registers `:factum.check/transfer` in this process: `[:factum.check/transfer from to amount]`
 * moves `amount` from account `from` to `to` (account ids), refusing an overdraft.
 * `debit: false` registers a broken transfer that credits without debiting (for a test that the
 * checker catches it).
 */
export function registerBankTransfer(options: { readonly debit?: boolean } = {}): void {
  const { debit = true } = options;
  registerTxFunction(TRANSFER, (db: EngineDb, from: number, to: number, amount: number) => {
    const [source, target] = [account(db, from), account(db, to)];
    if (source.balance < amount) throw new Error(`account ${from} holds ${source.balance}, less than the ${amount} to transfer`);
    return [
      ...(debit ? [['db/add', source.e, 'account/balance', source.balance - amount]] : []),
      ['db/add', target.e, 'account/balance', target.balance + amount],
    ];
  });
}

function account(db: EngineDb, id: number): { e: number; balance: number } {
  const e = db.lookup('account/id', id);
  if (e === null) throw new Error(`no account ${id}`);
  for (const datom of db.datoms('eavt', e, 'account/balance')) return { e, balance: datom.v as number };
  throw new Error(`account ${id} has no balance`);
}

/** Creates the database and its accounts (unless it has them); answers the total. */
export async function prepareBank(client: Client, options: BankOptions = {}): Promise<number> {
  const { database = 'bank', accounts = 5, opening = 100 } = options;
  await client.createDatabase(database);
  const conn = await client.connect(database);
  await conn.transact(SCHEMA);
  const existing = await balances(await conn.sync());
  if (existing.size === 0) await conn.transact(Array.from({ length: accounts }, (_, id) => ({ 'account/id': id, 'account/balance': opening })));
  return accounts * opening;
}

async function balances(db: ClientDb): Promise<Map<number, number>> {
  const rows = (await q('[:find ?id ?balance :where [?a :account/id ?id] [?a :account/balance ?balance]]', db)) as Array<[number, number]>;
  return new Map(rows);
}

/**
 * Runs transfers and reads from concurrent processes, then reads the database as of every t
 * from the accounts' creation to the end; check the reads with checkBank.
 */
export async function runBankWorkload(clients: readonly Client[], options: BankWorkloadOptions): Promise<BankRun> {
  const { database = 'bank', accounts = 5, opening = 100, processes = 5, operations = 200, durationMs = Infinity, seed = 1, casAttemptsMax = 10, transfer } = options;
  if (clients.length === 0 || accounts < 2 || (transfer !== 'function' && transfer !== 'ion' && transfer !== 'cas')) {
    throw new FactumError('check/invalid-option', `The bank workload needs a client, two accounts or more, and transfer 'function', 'ion' or 'cas'; got ${clients.length} clients and ${JSON.stringify(options)}.`, { options });
  }
  const random = seededRandom(seed);
  const reads: BalanceRead[] = [];
  const transfers = { ok: 0, fail: 0, info: 0 };
  const start = Date.now();
  let started = 0;
  const more = () => started < operations && Date.now() - start < durationMs;

  const runProcess = async (process: number) => {
    const conn = await connectRetrying(clients[process % clients.length]!, database, more);
    while (conn !== null && more()) {
      started += 1;
      if (random() < 0.5) {
        // A read that fails (a node down) shows nothing; one that answers must add up.
        const db = await (random() < 0.5 ? Promise.resolve(conn.db()) : conn.sync()).catch(() => null);
        const seen = db === null ? null : await balances(db).catch(() => null);
        if (db !== null && seen !== null) reads.push({ process, t: db.basisT, asOf: false, balances: seen });
        continue;
      }
      const from = Math.floor(random() * accounts);
      const to = (from + 1 + Math.floor(random() * (accounts - 1))) % accounts;
      const amount = 1 + Math.floor(random() * 5);
      transfers[await (transfer === 'cas' ? transferByCas(conn, from, to, amount, casAttemptsMax) : transferByFunction(conn, transfer === 'ion' ? ionTransfer(from, to, amount) : [[TRANSFER, from, to, amount]]))] += 1;
    }
  };
  const conn = await clients[0]!.connect(database);
  const first = (await conn.sync()).basisT;
  await Promise.all(Array.from({ length: processes }, (_, process) => runProcess(process)));
  const last = await conn.sync();
  for (let t = first; t <= last.basisT; t++) reads.push({ process: -1, t, asOf: true, balances: await balances(last.asOf(t)) });
  return { total: accounts * opening, reads, transfers };
}

type Outcome = 'ok' | 'fail' | 'info';

/** The example ion's transfer (ions/examples/src/transfer.ts), which names accounts by lookup refs. */
function ionTransfer(from: number, to: number, amount: number): string {
  return `[[:bank/transfer [:account/id ${from}] [:account/id ${to}] ${amount}]]`;
}

async function transferByFunction(conn: Connection, txData: string | unknown[]): Promise<Outcome> {
  try {
    await conn.transact(txData);
    return 'ok';
  } catch (error) {
    return definitelyRefused(error) ? 'fail' : 'info';
  }
}

async function transferByCas(conn: Connection, from: number, to: number, amount: number, attemptsMax: number): Promise<Outcome> {
  for (let attempt = 0; attempt < attemptsMax; attempt++) {
    const now = await (attempt === 0 ? Promise.resolve(conn.db()) : conn.sync()).then(balances).catch(() => null);
    // Nothing was sent to be written yet: this transfer certainly did not happen.
    if (now === null) return 'fail';
    const [source, target] = [now.get(from)!, now.get(to)!];
    if (source < amount) return 'fail';
    try {
      await conn.transact([
        ['db/cas', ['account/id', from], 'account/balance', source, source - amount],
        ['db/cas', ['account/id', to], 'account/balance', target, target + amount],
      ]);
      return 'ok';
    } catch (error) {
      if (isFactumError(error, 'transact/cas-failed')) continue;
      return definitelyRefused(error) ? 'fail' : 'info';
    }
  }
  return 'fail';
}

/** Every read must hold every account, none negative, adding up to the total. */
export function checkBank(run: BankRun, accounts: number): { valid: boolean; anomalies: BankAnomaly[] } {
  const anomalies: BankAnomaly[] = [];
  for (const read of run.reads) {
    const where = `${read.asOf ? 'The database as of' : `Process ${read.process}'s read at`} t=${read.t}`;
    const shown = [...read.balances].sort(([a], [b]) => a - b).map(([id, balance]) => `${id}:${balance}`).join(' ');
    const sum = [...read.balances.values()].reduce((a, b) => a + b, 0);
    if (read.balances.size !== accounts) anomalies.push({ kind: 'missing-account', explanation: `${where} holds ${read.balances.size} accounts (${shown}); expected ${accounts}.`, read });
    else if (sum !== run.total) anomalies.push({ kind: 'wrong-total', explanation: `${where} adds up to ${sum} (${shown}); expected ${run.total}.`, read });
    if ([...read.balances.values()].some((balance) => balance < 0)) anomalies.push({ kind: 'negative-balance', explanation: `${where} has a negative balance (${shown}).`, read });
  }
  return { valid: anomalies.length === 0, anomalies };
}
