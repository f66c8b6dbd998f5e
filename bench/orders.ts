// The people / items / orders data of the durable-index benchmarks: refs and cardinality-many
// refs, made in transactions of 500 entities by the real transaction engine.
import { kw } from '../nodes/values/values.ts';

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

