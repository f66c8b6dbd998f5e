// Child process of idempotent-transact-crash.test.ts: transacts with idempotency keys from several
// concurrent submitters on a local database (indexing often, so keys end up before the index
// root), printing `submit KEY` before each transaction and `ack KEY T` once it is acknowledged,
// until it is killed.
import { openLocalStorage } from '../../nodes/storage/local/local-storage.ts';
import { System } from '../../nodes/transactor/system.ts';
import { kw } from '../../nodes/values/values.ts';

export const indexing = { noveltyBytesMax: 20_000, backPressureBytes: 1e9 };

/** The transaction of a key: its sku, and the same text as :db/doc on the transaction. */
export function txDataOf(key: string): unknown[] {
  return [{ 'item/sku': key }, ['db/add', 'datomic.tx', 'db/doc', key]];
}

async function main(directory: string, round: string, submitters: number): Promise<void> {
  const system = new System(await openLocalStorage(directory), { indexing });
  await system.createDatabase('crash');
  const transactor = await system.connect('crash');
  if (transactor.db().attribute(kw('item/sku')) === undefined) {
    await transactor.transact([{ 'db/ident': kw('item/sku'), 'db/valueType': kw('db.type/string'), 'db/cardinality': kw('db.cardinality/one'), 'db/unique': kw('db.unique/identity') }]);
  }
  process.stdout.write('ready\n');
  let next = 0;
  const submitter = async (): Promise<never> => {
    for (;;) {
      const key = `r${round}-${next++}`;
      process.stdout.write(`submit ${key}\n`);
      const result = await transactor.transact(txDataOf(key), { idempotencyKey: key });
      process.stdout.write(`ack ${key} ${result.t}\n`);
    }
  };
  await Promise.all(Array.from({ length: submitters }, submitter));
}

if (process.argv[1]?.endsWith('idempotent-transact-child.mjs') === true) {
  const [directory, round, submitters] = process.argv.slice(2) as [string, string, string];
  await main(directory, round, Number(submitters));
}
