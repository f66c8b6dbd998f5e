// Differential test: factum's pull against DataScript's on seeded random data and patterns.
//
// The common subset: attributes, wildcard, reverse refs, nesting, recursion over acyclic refs,
// components, :limit, :default, :as. Where Datomic's semantics differ from DataScript's, the
// generator stays out of the difference or the comparison normalises it (Datomic wins):
//   - DataScript pulls an entity with none of the attributes as null; Datomic as {} — every
//     generated (sub)pattern names :db/id, and a null top-level result is compared as {}.
//   - DataScript does not count the root as on the recursion path — ref graphs are acyclic
//     (refs point from lower to higher ids), and one pattern navigates either forward refs only
//     or reverse refs only (no wildcard or component expansion then), so no path revisits an
//     entity.
//   - Datomic adds :db/ident to refs to entities with idents — the data has no idents.
//   - An explicit spec under * replaces the wildcard's entry in factum; DataScript keeps both
//     when the key differs — no :as aliases in a pattern with *.
import datascript from 'datascript';
import { describe, expect, it } from 'vitest';
import { emptyDb, type Db } from '../db/index.ts';
import { kw } from '../values/values.ts';
import { pull } from './index.ts';
import { attribute } from './test-db.ts';
import { seededRandom as random } from '../util/random.ts';

const ds = datascript as unknown as {
  empty_db(schema: object): unknown;
  db_with(db: unknown, tx: unknown[]): unknown;
  pull(db: unknown, pattern: string, eid: number): unknown;
};


const NAMES = ['Ivan', 'Petr', 'Oleg', 'Anna', 'Olga'];
const ALIASES = ['x', 'y', 'z', 'w', 'v', 'u'];
const REFS = ['p/friend', 'p/spouse', 'p/part'] as const;

interface Entity {
  readonly id: number;
  readonly values: Record<string, unknown>;
  readonly refs: Record<string, number[]>;
}

function generateData(next: () => number): Entity[] {
  const pick = <T,>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const count = 8 + Math.floor(next() * 20);
  const entities: Entity[] = [];
  for (let id = 1; id <= count; id++) {
    const values: Record<string, unknown> = {};
    if (next() < 0.7) values['p/name'] = pick(NAMES);
    if (next() < 0.5) values['p/age'] = Math.floor(next() * 100);
    if (next() < 0.4 || Object.keys(values).length === 0) values['p/email'] = `e${id}@x`;
    if (next() < 0.5) values['p/aliases'] = [...new Set(Array.from({ length: 1 + Math.floor(next() * 4) }, () => pick(ALIASES)))];
    entities.push({ id, values, refs: {} });
  }
  const owned = new Set<number>();
  for (const entity of entities) {
    const later = entities.filter((other) => other.id > entity.id);
    if (later.length === 0) continue;
    const friends = [...new Set(Array.from({ length: Math.floor(next() * 4) }, () => pick(later).id))];
    if (friends.length > 0) entity.refs['p/friend'] = friends;
    if (next() < 0.3) entity.refs['p/spouse'] = [pick(later).id];
    const free = later.filter((other) => !owned.has(other.id));
    if (free.length > 0 && next() < 0.3) {
      const part = pick(free).id;
      owned.add(part);
      entity.refs['p/part'] = [part];
    }
  }
  return entities;
}

const factumSchema = [
  attribute('p/name', 'string'),
  attribute('p/age', 'long'),
  attribute('p/email', 'string', { 'db/unique': kw('db.unique/identity') }),
  attribute('p/aliases', 'string', { many: true }),
  attribute('p/friend', 'ref', { many: true }),
  attribute('p/spouse', 'ref'),
  attribute('p/part', 'ref', { many: true, 'db/isComponent': true }),
];

/** Both databases; factum ids are mapped back to DataScript's small ids for comparison. */
function load(entities: readonly Entity[]): { factum: Db; datascript: unknown; factumId: Map<number, number>; dsId: Map<number, number> } {
  const first = emptyDb().with(factumSchema).dbAfter.with(entities.map((entity) => ({ 'db/id': `e${entity.id}`, ...entity.values })));
  const factumId = new Map(entities.map((entity) => [entity.id, first.tempids[`e${entity.id}`]!]));
  const refs = entities.flatMap((entity) => Object.entries(entity.refs).flatMap(([a, targets]) => targets.map((t) => [kw('db/add'), factumId.get(entity.id)!, kw(a), factumId.get(t)!])));
  const factum = first.dbAfter.with(refs).dbAfter;
  const dsSchema = {
    'p/email': { ':db/unique': ':db.unique/identity' },
    'p/aliases': { ':db/cardinality': ':db.cardinality/many' },
    'p/friend': { ':db/valueType': ':db.type/ref', ':db/cardinality': ':db.cardinality/many' },
    'p/spouse': { ':db/valueType': ':db.type/ref' },
    'p/part': { ':db/valueType': ':db.type/ref', ':db/cardinality': ':db.cardinality/many', ':db/isComponent': true },
  };
  const dsData = entities.map((entity) => ({ ':db/id': entity.id, ...entity.values, ...Object.fromEntries(Object.entries(entity.refs).map(([a, t]) => [a, a === 'p/spouse' ? t[0] : t])) }));
  const datascriptDb = ds.db_with(ds.empty_db(dsSchema), dsData);
  return { factum, datascript: datascriptDb, factumId, dsId: new Map([...factumId].map(([d, f]) => [f, d])) };
}

/** A pattern in both spellings: JS data for factum, EDN text for DataScript. */
interface Generated {
  readonly data: unknown[];
  readonly edn: string;
}

type Direction = 'forward' | 'reverse';

function generatePattern(next: () => number, depth: number, direction: Direction): Generated {
  const data: unknown[] = ['db/id'];
  const edn: string[] = [':db/id'];
  const wildcard = direction === 'forward' && next() < 0.2;
  if (wildcard) {
    data.push('*');
    edn.push('*');
  }
  for (const name of ['p/name', 'p/age', 'p/email', 'p/aliases']) {
    const roll = next();
    if (roll < 0.4) {
      data.push(name);
      edn.push(JSON.stringify(name));
    } else if (roll < 0.55 && name === 'p/aliases') {
      const limit = 1 + Math.floor(next() * 3);
      data.push([name, 'limit', limit]);
      edn.push(`[${JSON.stringify(name)} :limit ${limit}]`);
    } else if (roll < 0.65) {
      data.push([name, 'default', 'none']);
      edn.push(`[${JSON.stringify(name)} :default "none"]`);
    } else if (roll < 0.72 && !wildcard) {
      data.push([name, 'as', `as-${name}`]);
      edn.push(`[${JSON.stringify(name)} :as ${JSON.stringify(`as-${name}`)}]`);
    }
  }
  for (const forward of REFS) {
    for (const name of [forward, forward.replace('/', '/_')]) {
      const navigable = (name === forward) === (direction === 'forward');
      const roll = next();
      if (roll < 0.25) {
        if (!navigable && name === 'p/part') continue;
        data.push(name);
        edn.push(JSON.stringify(name));
      } else if (!navigable) {
        continue;
      } else if (roll < 0.4 && depth > 0) {
        const nested = generatePattern(next, depth - 1, direction);
        data.push({ [name]: nested.data });
        edn.push(`{${JSON.stringify(name)} ${nested.edn}}`);
      } else if (roll < 0.5) {
        const limit = next() < 0.5 ? '...' : 1 + Math.floor(next() * 3);
        data.push({ [name]: limit });
        edn.push(`{${JSON.stringify(name)} ${limit}}`);
      }
    }
  }
  return { data, edn: `[${edn.join(' ')}]` };
}

/** DataScript's result in factum's shape: `:db/id` keys as `db/id`, null as {}. */
function fromDatascript(value: unknown): unknown {
  if (value === null || value === undefined) return {};
  return renameIds(value);
}

function renameIds(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(renameIds);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k === ':db/id' ? 'db/id' : k, renameIds(v)]));
  }
  return value;
}

/** factum's result with entity ids mapped to DataScript's. */
function toDatascriptIds(value: unknown, dsId: Map<number, number>): unknown {
  if (Array.isArray(value)) return value.map((v) => toDatascriptIds(v, dsId));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'db/id' ? dsId.get(v as number) : toDatascriptIds(v, dsId)]));
  }
  return value;
}

describe('pull against DataScript', () => {
  it('agrees on random data and patterns (100 seeds × 8 patterns × every entity)', () => {
    let compared = 0;
    for (let seed = 1; seed <= 100; seed++) {
      const next = random(seed);
      const entities = generateData(next);
      const { factum, datascript: dsDb, factumId, dsId } = load(entities);
      for (let p = 0; p < 8; p++) {
        const pattern = generatePattern(next, 2, next() < 0.5 ? 'forward' : 'reverse');
        for (const entity of entities) {
          const expected = fromDatascript(ds.pull(dsDb, pattern.edn, entity.id));
          const actual = toDatascriptIds(pull(factum, pattern.data, factumId.get(entity.id)!), dsId);
          expect(actual, `seed ${seed}, entity ${entity.id}, pattern ${pattern.edn}`).toEqual(expected);
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(10_000);
  });
});
