// The direct memory-index reader against the reader over the public Database interface.
import { describe, expect, it } from 'vitest';
import { kw } from '../values/values.ts';
import { DatabaseReader, MemoryIndexReader, readerFor } from './entity-reader.ts';
import { world } from './test-db.ts';

function randomWorld(seed: number) {
  let state = seed;
  const next = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
  const n = 40;
  const data = Array.from({ length: n }, (_, i) => ({
    'db/id': `e${i}`,
    'person/name': `n${Math.floor(next() * 5)}`,
    'person/aliases': Array.from({ length: Math.floor(next() * 4) }, () => `a${Math.floor(next() * 6)}`),
    'person/friend': Array.from({ length: Math.floor(next() * 4) }, () => `e${Math.floor(next() * n)}`),
    ...(next() < 0.5 ? { 'person/manager': `e${Math.floor(next() * n)}` } : {}),
  }));
  const first = world(data);
  // Retract and re-assert some values so the trees hold more than one transaction's rows.
  const changes = Object.values(first.ids).filter(() => next() < 0.3).map((e) => [kw('db/add'), e, kw('person/name'), `changed-${e}`]);
  return { db: first.db.with(changes).dbAfter, ids: first.ids };
}

describe('entity readers', () => {
  it('agree on entities, values and referrers', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const { db, ids } = randomWorld(seed);
      const direct = new MemoryIndexReader(db);
      const generic = new DatabaseReader(db);
      const attributes = ['person/name', 'person/aliases', 'person/friend', 'person/manager'].map((name) => db.attribute(kw(name))!.id);
      for (const e of Object.values(ids)) {
        expect(direct.entity(e)).toEqual(generic.entity(e));
        for (const a of attributes) {
          expect(direct.values(e, a)).toEqual(generic.values(e, a));
          expect(direct.referrers(e, a)).toEqual(generic.referrers(e, a));
        }
      }
      expect(direct.entity(123456)).toEqual({ attributes: [], values: [] });
    }
  });

  it('are chosen by view: direct for a plain engine db, generic for filtered ones', () => {
    const { db } = randomWorld(1);
    expect(readerFor(db)).toBeInstanceOf(MemoryIndexReader);
    expect(readerFor(db.asOf(db.basisT))).toBeInstanceOf(DatabaseReader);
    expect(readerFor(db.since(0))).toBeInstanceOf(DatabaseReader);
  });
});
