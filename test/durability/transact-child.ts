// Child process of transact-crash.test.ts: transacts from several concurrent submitters on a
// local database and prints `ack SKU` for each acknowledged transaction, until it is killed.
import { openLocalStorage } from '../../nodes/storage/local/local-storage.ts';
import { System } from '../../nodes/transactor/system.ts';
import { kw } from '../../nodes/values/values.ts';

const [directory, round, submitters] = process.argv.slice(2) as [string, string, string];
const system = new System(await openLocalStorage(directory));
await system.createDatabase('crash');
const transactor = await system.connect('crash');
if (transactor.db().attribute(kw('item/sku')) === undefined) {
  await transactor.transact([{ 'db/ident': kw('item/sku'), 'db/valueType': kw('db.type/string'), 'db/cardinality': kw('db.cardinality/one'), 'db/unique': kw('db.unique/identity') }]);
}
process.stdout.write('ready\n');
let next = 0;
async function submitter(): Promise<never> {
  for (;;) {
    const sku = `r${round}-${next++}`;
    await transactor.transact([{ 'item/sku': sku }, ['db/add', 'datomic.tx', 'db/doc', sku]]);
    process.stdout.write(`ack ${sku}\n`);
  }
}
await Promise.all(Array.from({ length: Number(submitters) }, submitter));
