// Differential testing against DataScript: seeded random databases and random queries in the
// common subset (patterns, joins, predicates, functions, not, or, rules with recursion,
// aggregates), run on both, result sets compared. Entity ids differ between the engines, so
// both are mapped to the entity's index before comparing.
import ds from 'datascript';
import { describe, expect, it } from 'vitest';
import { emptyDb } from '../../nodes/db/index.ts';
import { readEdn } from '../../nodes/edn/reader.ts';
import { q } from '../../nodes/query/index.ts';
import { randomEntities, randomQuery, rulesFor, seeded, type Entity } from './generate.ts';

const DATASCRIPT_BASE = 1_000_000;
const DATABASES = 200;
const QUERIES_PER_DATABASE = 30;

const factumSchema = `[
 {:db/ident :t/name :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
 {:db/ident :t/age :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
 {:db/ident :t/tag :db/valueType :db.type/string :db/cardinality :db.cardinality/many}
 {:db/ident :t/friend :db/valueType :db.type/ref :db/cardinality :db.cardinality/many}
 {:db/ident :t/parent :db/valueType :db.type/ref :db/cardinality :db.cardinality/one}]`;

const baseDb = emptyDb().with(readEdn(factumSchema)).dbAfter;

function factumDb(entities: readonly Entity[]) {
  const data = entities.map((entity, i) => {
    const parts = [`:db/id "e${i}"`, `:t/name "${entity.name}"`];
    if (entity.age !== null) parts.push(`:t/age ${entity.age}`);
    if (entity.tags.length > 0) parts.push(`:t/tag [${entity.tags.map((t) => `"${t}"`).join(' ')}]`);
    if (entity.friends.length > 0) parts.push(`:t/friend [${entity.friends.map((f) => `"e${f}"`).join(' ')}]`);
    if (entity.parent !== null) parts.push(`:t/parent "e${entity.parent}"`);
    return `{${parts.join(' ')}}`;
  });
  const report = baseDb.with(readEdn(`[${data.join(' ')}]`));
  const indexOf = new Map<unknown, number>(Object.entries(report.tempids).map(([tempid, id]) => [id, Number(tempid.slice(1))]));
  return { db: report.dbAfter, indexOf };
}

function datascriptDb(entities: readonly Entity[]) {
  const schema = {
    friend: { ':db/valueType': ':db.type/ref', ':db/cardinality': ':db.cardinality/many' },
    parent: { ':db/valueType': ':db.type/ref' },
    tag: { ':db/cardinality': ':db.cardinality/many' },
  };
  const data = entities.map((entity, i) => {
    const e: Record<string, unknown> = { ':db/id': DATASCRIPT_BASE + i, name: entity.name };
    if (entity.age !== null) e.age = entity.age;
    if (entity.tags.length > 0) e.tag = [...entity.tags];
    if (entity.friends.length > 0) e.friend = entity.friends.map((f) => DATASCRIPT_BASE + f);
    if (entity.parent !== null) e.parent = DATASCRIPT_BASE + entity.parent;
    return e;
  });
  return ds.db_with(ds.empty_db(schema), data);
}

function normalise(rows: unknown, entity: (v: unknown) => string | null): string[] {
  return (rows as unknown[][]).map((row) => JSON.stringify(row.map((v) => entity(v) ?? v))).sort();
}

describe('factum agrees with DataScript', () => {
  it(`on ${DATABASES * QUERIES_PER_DATABASE} random queries over ${DATABASES} random databases`, () => {
    const factumRules = rulesFor('factum');
    const datascriptRules = rulesFor('datascript');
    let compared = 0;
    for (let seed = 1; seed <= DATABASES; seed++) {
      const random = seeded(seed);
      const entities = randomEntities(random);
      const { db, indexOf } = factumDb(entities);
      const dsDb = datascriptDb(entities);
      for (let i = 0; i < QUERIES_PER_DATABASE; i++) {
        const query = randomQuery(random);
        const expected = query.usesRules ? ds.q(query.datascript, dsDb, datascriptRules) : ds.q(query.datascript, dsDb);
        const actual = query.usesRules ? q(query.factum, db, factumRules) : q(query.factum, db);
        const factumEntity = (v: unknown): string | null => (indexOf.has(v) ? `E${indexOf.get(v)}` : null);
        const datascriptEntity = (v: unknown): string | null => (typeof v === 'number' && v >= DATASCRIPT_BASE ? `E${v - DATASCRIPT_BASE}` : null);
        expect(normalise(actual, factumEntity), `seed ${seed} query ${i}\nfactum:     ${query.factum}\ndatascript: ${query.datascript}`)
          .toEqual(normalise(expected, datascriptEntity));
        compared++;
      }
    }
    expect(compared).toBe(DATABASES * QUERIES_PER_DATABASE);
  }, 120_000);
});
