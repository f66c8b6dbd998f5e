// What end-to-end.test.ts compares between the process that wrote a database and the ones that
// open it: the basis, every sku with its transaction, the skus as of t 2, and the datom count.
import type { Db } from '../../nodes/db/db.ts';
import { kw } from '../../nodes/values/values.ts';

export function summarize(db: Db): string {
  const skus = [...db.datoms('avet', kw('item/sku'))].map((d) => `${d.v}@${d.tx}`);
  const past = [...db.asOf(2).datoms('avet', kw('item/sku'))].map((d) => d.v);
  return JSON.stringify({ basisT: db.basisT, skus, past, datoms: db.stats().datoms });
}
