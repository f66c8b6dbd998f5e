//! The bank-transfer workload (issue 19): accounts holding whole amounts, clients moving random
//! amounts between random accounts with a transaction function, readers summing every balance.
//! What must hold in every db value the system ever answers, the current ones while transfers run
//! and every past one afterwards (`asOf` each t of the log): the total is the one the bank opened
//! with, and no balance is negative (the function refuses to overdraw).
//!
//! The transfer's tx-data is the caller's (`transfer`): an ion (`[:bank/transfer from to n]`
//! deployed from ions/examples), or a transaction function registered in-process for an embedded
//! client; the workload does not care which, only what the db values say.
import type { Client, Db } from '../../client/index.ts';
import { q } from '../../client/index.ts';
import { seededRandom } from '../../nodes/util/random.ts';

export const BANK_SCHEMA = `[{:db/ident :account/id :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
 {:db/ident :account/balance :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]`;

export interface BankOptions {
  readonly database: string;
  readonly accounts: number;
  /** Each account's opening balance. */
  readonly opening: number;
  readonly clients: number;
  readonly transfersPerClient: number;
  /** Readers summing the current db value while transfers run. */
  readonly readers: number;
  readonly seed: number;
  /** The tx-data of one transfer (EDN text). */
  readonly transfer: (from: string, to: string, amount: number) => string;
  /** Past db values checked afterwards, at most (spread over the log). @default 200 */
  readonly pastChecksMax?: number;
}

export interface BankResult {
  readonly committed: number;
  /** Transfers the function refused (an overdraft), or that failed otherwise (by code). */
  readonly refused: number;
  readonly failed: ReadonlyMap<string, number>;
  readonly currentReads: number;
  readonly pastReads: number;
  /** Every db value whose total or balances were wrong: empty when the bank kept its books. */
  readonly violations: readonly string[];
}

const accountId = (n: number): string => `acct-${n}`;

/** Sums and checks every balance of `db`; a violation's description, or null. */
async function audit(db: Db, expectedTotal: number, accounts: number, where: string): Promise<string | null> {
  const rows = (await q('[:find ?id ?b :where [?a :account/id ?id] [?a :account/balance ?b]]', db)) as Array<[string, number]>;
  const total = rows.reduce((sum, [, b]) => sum + b, 0);
  const negative = rows.filter(([, b]) => b < 0);
  if (rows.length !== accounts || total !== expectedTotal || negative.length > 0) {
    return `${where} (t ${db.basisT}): ${rows.length} accounts, total ${total} (expected ${accounts} accounts, total ${expectedTotal})${negative.length > 0 ? `, negative: ${negative.map(([id, b]) => `${id}=${b}`).join(' ')}` : ''}`;
  }
  return null;
}

export async function runBank(client: Client, options: BankOptions): Promise<BankResult> {
  const { database, accounts, opening } = options;
  const total = accounts * opening;
  await client.createDatabase(database);
  const setup = await client.connect(database);
  await setup.transact(BANK_SCHEMA);
  const opened = await setup.transact(`[${Array.from({ length: accounts }, (_, n) => `{:account/id "${accountId(n)}" :account/balance ${opening}}`).join(' ')}]`);
  const openedT = opened.dbAfter.basisT;
  const violations: string[] = [];
  const failed = new Map<string, number>();
  let committed = 0;
  let refused = 0;
  let currentReads = 0;
  let transferring = true;

  const transfers = Array.from({ length: options.clients }, async (_, clientIndex) => {
    const random = seededRandom(options.seed * 1000 + clientIndex);
    const conn = await client.connect(database);
    for (let i = 0; i < options.transfersPerClient; i++) {
      const from = Math.floor(random() * accounts);
      const to = (from + 1 + Math.floor(random() * (accounts - 1))) % accounts;
      const amount = 1 + Math.floor(random() * opening * 0.6);
      try {
        await conn.transact(options.transfer(accountId(from), accountId(to), amount));
        committed++;
      } catch (error) {
        const code = (error as { code?: string }).code ?? 'unknown';
        if (/overdraw|less than|insufficient/i.test((error as Error).message)) refused++;
        else failed.set(code, (failed.get(code) ?? 0) + 1);
      }
    }
  });
  const readers = Array.from({ length: options.readers }, async () => {
    const conn = await client.connect(database);
    while (transferring) {
      const violation = await audit(await conn.sync(), total, accounts, 'a current db value');
      if (violation !== null) violations.push(violation);
      currentReads++;
    }
  });
  await Promise.all(transfers);
  transferring = false;
  await Promise.all(readers);

  // Every past db value since the accounts opened: asOf each t (spread over the log when there are many).
  const latest = await setup.sync();
  const ts: number[] = [];
  for await (const entry of setup.txRange({ start: openedT })) ts.push(entry.t);
  const step = Math.max(1, Math.ceil(ts.length / (options.pastChecksMax ?? 200)));
  let pastReads = 0;
  for (let i = 0; i < ts.length; i += step) {
    const violation = await audit(latest.asOf(ts[i]!), total, accounts, `asOf ${ts[i]}`);
    if (violation !== null) violations.push(violation);
    pastReads++;
  }
  const final = await audit(latest, total, accounts, 'the final db value');
  if (final !== null) violations.push(final);
  return { committed, refused, failed, currentReads, pastReads, violations };
}
