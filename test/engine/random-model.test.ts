// Seeded random transactions checked against a plain reference model: after every transaction
// every index must hold exactly the model's facts in its own order, asOf(t) must equal the model
// as it was at t, and db values taken earlier must be unchanged.
import { describe, expect, it } from 'vitest';
import { PART_USER, partitionOf } from '../../nodes/datom/datom.ts';
import { emptyDb, type Db, type IndexName } from '../../nodes/db/index.ts';
import { seededRandom } from '../../nodes/storage/fault.ts';
import { compareValues } from '../../nodes/values/compare.ts';
import { kw } from '../../nodes/values/values.ts';
import { attr } from './fixtures.ts';

type Model = Map<number, Map<string, Set<unknown>>>;
type Fact = [number, number, unknown];

const clone = (m: Model): Model => new Map([...m].map(([e, attrs]) => [e, new Map([...attrs].map(([a, vs]) => [a, new Set(vs)]))]));

function facts(db: Db, model: Model): Fact[] {
  const out: Fact[] = [];
  for (const [e, attrs] of model) for (const [a, vs] of attrs) for (const v of vs) out.push([e, db.attribute(kw(a))!.id, v]);
  return out;
}

const orders: Record<IndexName, (x: Fact, y: Fact) => number> = {
  eavt: (x, y) => x[0] - y[0] || x[1] - y[1] || compareValues(x[2], y[2]),
  aevt: (x, y) => x[1] - y[1] || x[0] - y[0] || compareValues(x[2], y[2]),
  avet: (x, y) => x[1] - y[1] || compareValues(x[2], y[2]) || x[0] - y[0],
  vaet: (x, y) => compareValues(x[2], y[2]) || x[1] - y[1] || x[0] - y[0],
};

function check(db: Db, model: Model): void {
  const expected = facts(db, model);
  const link = db.attribute(kw('m/link'))!.id;
  for (const index of ['eavt', 'aevt', 'avet', 'vaet'] as const) {
    const want = (index === 'vaet' ? expected.filter((f) => f[1] === link) : expected).sort(orders[index]);
    const got = [...db.datoms(index)].filter((d) => partitionOf(d.e) === PART_USER).map((d): Fact => [d.e, d.a, d.v]);
    expect(got, index).toEqual(want);
  }
}

function run(seed: number, steps: number): void {
  const random = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  let db = emptyDb().with([
    attr('m/name', 'string'),
    attr('m/score', 'long'),
    attr('m/tags', 'string', { many: true }),
    attr('m/link', 'ref', { many: true }),
  ]).dbAfter;
  let model: Model = new Map();
  const snapshots: Array<[Db, Model]> = [];
  const get = (e: number, a: string) => model.get(e)?.get(a) ?? new Set();
  for (let step = 0; step < steps; step++) {
    const next = clone(model);
    const put = (e: number, a: string, v: unknown, one: boolean) => {
      const attrs = next.get(e) ?? new Map<string, Set<unknown>>();
      next.set(e, attrs);
      const vs = one ? new Set<unknown>() : attrs.get(a) ?? new Set<unknown>();
      vs.add(v);
      attrs.set(a, vs);
    };
    const drop = (e: number, a: string, v: unknown) => {
      next.get(e)?.get(a)?.delete(v);
      if (next.get(e)?.get(a)?.size === 0) next.get(e)!.delete(a);
      if (next.get(e)?.size === 0) next.delete(e);
    };
    const entities = [...model.keys()];
    const txData: unknown[] = [];
    const touched = new Set<string>();
    let created: string | null = null;
    const forms = 1 + Math.floor(random() * 4);
    for (let i = 0; i < forms; i++) {
      const choice = entities.length === 0 ? 0 : Math.floor(random() * 8);
      const e = entities.length > 0 ? pick(entities) : 0;
      const claim = (a: string) => !touched.has(`${e} ${a}`) && touched.add(`${e} ${a}`) !== undefined;
      if (choice === 0 && created === null) {
        created = `n${step}`;
        txData.push({ 'db/id': created, 'm/name': pick(['a', 'b', 'c']), 'm/score': Math.floor(random() * 5) });
      } else if (choice === 1 && claim('m/name')) {
        const v = pick(['a', 'b', 'c', 'd']);
        txData.push(['db/add', e, 'm/name', v]);
        put(e, 'm/name', v, true);
      } else if (choice === 2 && claim('m/tags')) {
        const v = pick(['x', 'y', 'z']);
        txData.push(['db/add', e, 'm/tags', v]);
        put(e, 'm/tags', v, false);
      } else if (choice === 3 && claim('m/tags') && get(e, 'm/tags').size > 0) {
        const v = pick([...get(e, 'm/tags')]);
        txData.push(['db/retract', e, 'm/tags', v]);
        drop(e, 'm/tags', v);
      } else if (choice === 4 && claim('m/score') && get(e, 'm/score').size > 0) {
        txData.push(['db/retract', e, 'm/score']);
        drop(e, 'm/score', [...get(e, 'm/score')][0]);
      } else if (choice === 5 && claim('m/link')) {
        const target = pick(entities);
        txData.push(['db/add', e, 'm/link', target]);
        put(e, 'm/link', target, false);
      } else if (choice === 6 && claim('m/score')) {
        const v = Math.floor(random() * 5);
        txData.push({ 'db/id': e, 'm/score': v });
        put(e, 'm/score', v, true);
      } else if (choice === 7 && txData.length === 0 && random() < 0.3) {
        txData.push(['db/retractEntity', e]);
        next.delete(e);
        for (const other of next.keys()) drop(other, 'm/link', e);
        break;
      }
    }
    if (txData.length === 0) continue;
    const report = db.with(txData);
    if (created !== null) {
      const form = txData.find((f) => (f as { 'db/id'?: string })['db/id'] === created) as Record<string, unknown>;
      const e = report.tempids[created]!;
      put(e, 'm/name', form['m/name'], true);
      put(e, 'm/score', form['m/score'], true);
    }
    db = report.dbAfter;
    model = next;
    check(db, model);
    if (step % 10 === 0) snapshots.push([db, clone(model)]);
  }
  for (const [old, oldModel] of snapshots) {
    check(old, oldModel);
    check(db.asOf(old.basisT), oldModel);
  }
}

describe('engine against a reference model', () => {
  for (const seed of [11, 22, 33, 44, 55, 66]) {
    it(`seed ${seed}`, () => run(seed, 150));
  }
});
