// Pull of reverse refs `:ns/_attr`.
import { describe, expect, it } from 'vitest';
import { kw } from '../values/values.ts';
import { pull } from './index.ts';
import { world } from './test-db.ts';

const data = () =>
  world([
    { 'db/id': 'ann', 'person/name': 'Ann', 'person/friend': ['cy'], 'person/manager': 'cy', 'person/address': { 'db/id': 'home', 'address/street': 'Elm' } },
    { 'db/id': 'bob', 'person/name': 'Bob', 'person/friend': ['cy'], 'person/manager': 'cy' },
    { 'db/id': 'cy', 'person/name': 'Cy' },
  ]);

describe('pull reverse refs', () => {
  it('returns referring entities as an array of { db/id }', () => {
    const { db, ids } = data();
    expect(pull(db, [kw('person/_friend')], ids.cy)).toEqual({ 'person/_friend': [{ 'db/id': ids.ann }, { 'db/id': ids.bob }] });
  });

  it('is an array even for a cardinality-one attribute', () => {
    const { db, ids } = data();
    expect(pull(db, ['person/_manager'], ids.cy)).toEqual({ 'person/_manager': [{ 'db/id': ids.ann }, { 'db/id': ids.bob }] });
  });

  it('is a single map for a component attribute', () => {
    const { db, ids } = data();
    expect(pull(db, ['person/_address'], ids.home)).toEqual({ 'person/_address': { 'db/id': ids.ann } });
  });

  it('follows a nested pattern', () => {
    const { db, ids } = data();
    expect(pull(db, ['person/name', { 'person/_friend': ['person/name'] }], ids.cy)).toEqual({
      'person/name': 'Cy',
      'person/_friend': [{ 'person/name': 'Ann' }, { 'person/name': 'Bob' }],
    });
    expect(pull(db, [{ 'person/_address': ['person/name'] }], ids.home)).toEqual({ 'person/_address': { 'person/name': 'Ann' } });
  });

  it('is left out when nothing refers to the entity', () => {
    const { db, ids } = data();
    expect(pull(db, ['person/name', 'person/_friend'], ids.ann)).toEqual({ 'person/name': 'Ann' });
  });

  it('takes :as, :limit and :default', () => {
    const { db, ids } = data();
    expect(pull(db, [['person/_friend', 'as', 'fans', 'limit', 1]], ids.cy)).toEqual({ fans: [{ 'db/id': ids.ann }] });
    expect(pull(db, [['person/_friend', 'default', []]], ids.ann)).toEqual({ 'person/_friend': [] });
  });
});
