// A transaction function: `[:bank/transfer from to amount]` in tx-data moves `amount` cents between
// two accounts, and refuses to overdraw. It runs on the transactor against the db value the
// transaction starts from (no other transaction can come between the read and the write), so the
// check below cannot race: throwing aborts the whole transaction with this message.
import type { Db, TxData } from 'factum/client';
import { cast } from 'factum/ion';

/** An account as the ions see it: its entity id and balance in cents. */
interface Account {
  readonly id: number;
  readonly balance: number;
}

async function account(db: Db, ref: unknown): Promise<Account> {
  // A lookup ref that names no entity is an error of pull; it means "no such account" here.
  const entity = await db.pull('[:db/id :account/balance]', ref).catch((error: { code?: string }) => {
    if (error.code === 'pull/entity-not-found') return null;
    throw error;
  });
  const id = entity?.['db/id'];
  if (entity === null || typeof id !== 'number') throw new Error(`no account ${JSON.stringify(ref)}`);
  return { id, balance: Number(entity['account/balance'] ?? 0) };
}

/**
 * Moves `amount` cents from one account to another (each an entity id or a lookup ref such as
 * `[:account/id "alice"]`).
 * @example [:bank/transfer [:account/id "alice"] [:account/id "bob"] 2500]
 */
export async function transfer(db: Db, from: unknown, to: unknown, amount: unknown): Promise<TxData> {
  if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount <= 0) {
    throw new Error(`amount is ${String(amount)}; expected a positive whole number of cents`);
  }
  const source = await account(db, from);
  const target = await account(db, to);
  if (source.id === target.id) throw new Error(`a transfer needs two accounts; both are ${JSON.stringify(from)}`);
  if (source.balance < amount) {
    throw new Error(`account ${JSON.stringify(from)} holds ${source.balance} cents, less than the ${amount} to transfer`);
  }
  cast.metric({ name: 'bank.transfers', value: 1, units: 'count' });
  return [
    ['db/add', source.id, 'account/balance', source.balance - amount],
    ['db/add', target.id, 'account/balance', target.balance + amount],
  ];
}
