// The people / items / orders data of the durable-index benchmarks: refs and cardinality-many
// refs, made in transactions of 500 entities by the real transaction engine.
import { kw } from '../nodes/values/values.ts';
import type { Db, TxReport } from '../nodes/db/index.ts';
import { seededRandom } from './people.ts';

const attribute = (ident: string, type: string, many = false): Record<string, unknown> => ({
  'db/ident': kw(ident),
  'db/valueType': kw(`db.type/${type}`),
  'db/cardinality': kw(`db.cardinality/${many ? 'many' : 'one'}`),
});

export const schema = [
  attribute('person/name', 'string'), attribute('person/email', 'string'), attribute('person/age', 'long'),
  attribute('item/sku', 'string'), attribute('item/price', 'double'),
  attribute('order/customer', 'ref'), attribute('order/items', 'ref', true), attribute('order/total', 'double'),
];

/** One transaction of 500 entities: a mix of people, items and orders referring to earlier ones. */
export function batch(random: () => number, people: number[], items: number[]): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < 500; i++) {
    const roll = random();
    if (roll < 0.3 || people.length === 0) {
      out.push({ 'db/id': `e${i}`, 'person/name': `Person ${Math.floor(random() * 1e6)}`, 'person/email': `p${Math.floor(random() * 1e9)}@example.com`, 'person/age': Math.floor(random() * 90) });
    } else if (roll < 0.5 || items.length === 0) {
      out.push({ 'db/id': `e${i}`, 'item/sku': `SKU-${Math.floor(random() * 1e7)}`, 'item/price': Math.round(random() * 10000) / 100 });
    } else {
      const lines = Array.from({ length: 1 + Math.floor(random() * 4) }, () => items[Math.floor(random() * items.length)]!);
      out.push({ 'db/id': `e${i}`, 'order/customer': people[Math.floor(random() * people.length)]!, 'order/items': [...new Set(lines)], 'order/total': Math.round(random() * 100000) / 100 });
    }
  }
  return out;
}


/** The next transactions of the data set, and what they created (refs for later transactions). */
export class OrdersData {
  private readonly random = seededRandom(7);
  private readonly people: number[] = [];
  private readonly items: number[] = [];
  private readonly nameA: number;
  private readonly skuA: number;
  /** Datoms transacted so far. */
  datoms = 0;

  constructor(db: Db) {
    this.nameA = db.attribute(kw('person/name'))!.id;
    this.skuA = db.attribute(kw('item/sku'))!.id;
  }

  next(): unknown[] {
    return batch(this.random, this.people, this.items);
  }

  /** Records a committed transaction: its datoms, and the people and items it created. */
  record(report: TxReport): void {
    this.datoms += report.txData.length;
    const firstA = new Map<number, number>();
    for (const d of report.txData) if (!firstA.has(d.e)) firstA.set(d.e, d.a);
    for (const id of Object.values(report.tempids)) {
      if (firstA.get(id) === this.nameA) this.people.push(id);
      else if (firstA.get(id) === this.skuA) this.items.push(id);
    }
  }

  /** A person created so far (the middle one). */
  get somePerson(): number {
    return this.people[Math.floor(this.people.length / 2)]!;
  }
}
