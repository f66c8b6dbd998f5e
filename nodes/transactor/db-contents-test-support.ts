// Everything a db value holds, as plain data to compare two db values with (the tests of dbAt and
// of followers: the same db value made two ways must hold the same).
import type { Datom, IndexName } from '../datom/datom.ts';
import type { Db } from '../db/db.ts';
import { readDb } from '../db/durable-base.ts';

/** The datoms of every index, current and history, the schema and the counters of `db`. */
export async function contents(db: Db): Promise<unknown> {
  const plain = (d: Datom) => [d.e, d.a, d.v, d.tx, d.added];
  return readDb(db.state.base, () => {
    const out: Record<string, unknown> = {};
    for (const index of ['eavt', 'aevt', 'avet', 'vaet'] as IndexName[]) {
      out[index] = [...db.datoms(index)].map(plain);
      out[`history ${index}`] = [...db.history().datoms(index)].map(plain);
    }
    out['attributes'] = [...db.schema.attributes.values()].sort((x, y) => x.id - y.id);
    out['idents'] = [...db.schema.idByIdent].map(([ident, id]) => [String(ident), id]).sort();
    const { basisT, nextUserN, nextDbN, lastTxInstantMs } = db.state;
    out['counters'] = { basisT, nextUserN, nextDbN, lastTxInstantMs };
    return out;
  });
}
