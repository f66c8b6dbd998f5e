// Child process of end-to-end.test.ts: opens the system from its configuration alone and prints
// the same summary the parent computed.
import { createAwsStorage } from '../../nodes/storage/aws/index.ts';
import { System } from '../../nodes/transactor/system.ts';
import { kw } from '../../nodes/values/values.ts';

const system = new System(createAwsStorage(JSON.parse(process.env.FACTUM_TEST_CONFIG!)));
const db = (await system.connect('shop')).db();
const skus = [...db.datoms('avet', kw('item/sku'))].map((d) => `${d.v}@${d.tx}`);
const past = [...db.asOf(2).datoms('avet', kw('item/sku'))].map((d) => d.v);
console.log(JSON.stringify({ basisT: db.basisT, skus, past, datoms: db.stats().datoms }));
await system.close();
