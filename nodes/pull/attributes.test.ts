// Pull of plain attributes: values, cardinality, missing attributes, entity arguments, time views.
import { describe, expect, it } from 'vitest';
import { kw } from '../values/values.ts';
import { pull, pullerFor, pullMany } from './index.ts';
import { world } from './test-db.ts';

const people = () =>
  world([
    { 'db/id': 'ann', 'person/name': 'Ann', 'person/email': 'ann@x', 'person/age': 31, 'person/aliases': ['Annie', 'A'], 'person/tags': [kw('tag/b'), kw('tag/a')], 'person/friend': ['bob'], 'person/color': kw('color/red') },
    { 'db/id': 'bob', 'person/name': 'Bob', 'person/email': 'bob@x' },
  ]);

describe('pull attributes', () => {
  it('returns the named attributes, card-many as arrays in index order', () => {
    const { db, ids } = people();
    expect(pull(db, ['person/name', 'person/age', 'person/aliases'], ids.ann)).toEqual({
      'person/name': 'Ann',
      'person/age': 31,
      'person/aliases': ['A', 'Annie'],
    });
  });

  it('keeps keyword values as Keyword objects', () => {
    const { db, ids } = people();
    const result = pull(db, [kw('person/tags')], ids.ann);
    expect(result['person/tags']).toEqual([kw('tag/a'), kw('tag/b')]);
    expect((result['person/tags'] as unknown[])[0]).toBe(kw('tag/a'));
  });

  it('leaves out attributes the entity does not have', () => {
    const { db, ids } = people();
    expect(pull(db, ['person/name', 'person/age', 'person/aliases'], ids.bob)).toEqual({ 'person/name': 'Bob' });
  });

  it('gives {} (not null) for an entity with none of the attributes', () => {
    const { db, ids } = people();
    expect(pull(db, ['person/age'], ids.bob)).toEqual({});
    expect(pull(db, ['person/name'], 987654321)).toEqual({});
  });

  it('returns :db/id when named', () => {
    const { db, ids } = people();
    expect(pull(db, ['db/id', 'person/name'], ids.bob)).toEqual({ 'db/id': ids.bob, 'person/name': 'Bob' });
    expect(pull(db, [kw('db/id')], 987654321)).toEqual({ 'db/id': 987654321 });
  });

  it('renders refs not expanded as { db/id }, with db/ident when the target has one', () => {
    const { db, ids } = people();
    const red = db.entid(kw('color/red'));
    expect(pull(db, ['person/friend', 'person/color'], ids.ann)).toEqual({
      'person/friend': [{ 'db/id': ids.bob }],
      'person/color': { 'db/id': red, 'db/ident': kw('color/red') },
    });
  });

  it('accepts an ident or a lookup ref as the entity', () => {
    const { db, ids } = people();
    expect(pull(db, ['db/id'], [kw('person/email'), 'bob@x'])).toEqual({ 'db/id': ids.bob });
    expect(pull(db, ['db/id'], ['person/email', 'ann@x'])).toEqual({ 'db/id': ids.ann });
    expect(pull(db, ['db/ident'], kw('color/blue'))).toEqual({ 'db/ident': kw('color/blue') });
  });

  it('pullMany pulls each entity in order', () => {
    const { db, ids } = people();
    expect(pullMany(db, ['person/name'], [ids.bob, ids.ann, [kw('person/email'), 'bob@x'], 123456789])).toEqual([
      { 'person/name': 'Bob' },
      { 'person/name': 'Ann' },
      { 'person/name': 'Bob' },
      {},
    ]);
  });

  it('pullerFor pulls one pattern for entity after entity', () => {
    const { db, ids } = people();
    const names = pullerFor(db, '[:person/name]');
    expect([names(ids.ann), names([kw('person/email'), 'bob@x']), names(42)]).toEqual([{ 'person/name': 'Ann' }, { 'person/name': 'Bob' }, {}]);
  });

  it('reads asOf and since db values', () => {
    const { db: db1, ids } = people();
    const t1 = db1.basisT;
    const db2 = db1.with([[kw('db/add'), ids.ann, kw('person/name'), 'Anne'], [kw('db/add'), ids.bob, kw('person/age'), 40]]).dbAfter;
    expect(pull(db2, ['person/name', 'person/age'], ids.ann)).toEqual({ 'person/name': 'Anne', 'person/age': 31 });
    expect(pull(db2.asOf(t1), ['person/name', 'person/age'], ids.ann)).toEqual({ 'person/name': 'Ann', 'person/age': 31 });
    expect(pull(db2.since(t1), ['person/name', 'person/age'], ids.ann)).toEqual({ 'person/name': 'Anne' });
    expect(pull(db2.since(t1), ['person/name', 'person/age'], ids.bob)).toEqual({ 'person/age': 40 });
  });

  it('is stable: the same pull on the same db value gives the same result', () => {
    const { db, ids } = people();
    const pattern = ['*', { 'person/friend': ['person/name'] }];
    expect(pull(db, pattern, ids.ann)).toEqual(pull(db, pattern, ids.ann));
  });

  it('takes the pattern as EDN text', () => {
    const { db, ids } = people();
    expect(pull(db, '[:person/name (:person/age :as "age") {:person/friend [:person/name]} (default :person/spouse :none)]', ids.ann)).toEqual({
      'person/name': 'Ann',
      age: 31,
      'person/friend': [{ 'person/name': 'Bob' }],
      'person/spouse': kw('none'),
    });
  });
});
