// Component entities: pulled in full when named or under *, through nested components.
import { describe, expect, it } from 'vitest';
import { kw } from '../values/values.ts';
import { pull } from './index.ts';
import { world } from './test-db.ts';

const data = () =>
  world([
    {
      'db/id': 'ann',
      'person/name': 'Ann',
      'person/address': { 'db/id': 'home', 'address/street': 'Elm', 'address/city': 'oslo' },
      'person/pets': [{ 'db/id': 'rex', 'pet/name': 'Rex', 'pet/toy': { 'db/id': 'ball', 'toy/name': 'Ball' } }, { 'db/id': 'tom', 'pet/name': 'Tom' }],
    },
    { 'db/id': 'oslo', 'city/name': 'Oslo' },
  ]);

describe('pull components', () => {
  it('pulls a component named without a pattern in full, refs inside it not expanded', () => {
    const { db, ids } = data();
    expect(pull(db, ['person/address'], ids.ann)).toEqual({
      'person/address': { 'db/id': ids.home, 'address/street': 'Elm', 'address/city': { 'db/id': ids.oslo } },
    });
  });

  it('pulls nested components recursively', () => {
    const { db, ids } = data();
    expect(pull(db, [kw('person/pets')], ids.ann)).toEqual({
      'person/pets': [
        { 'db/id': ids.rex, 'pet/name': 'Rex', 'pet/toy': { 'db/id': ids.ball, 'toy/name': 'Ball' } },
        { 'db/id': ids.tom, 'pet/name': 'Tom' },
      ],
    });
  });

  it('expands components under a wildcard', () => {
    const { db, ids } = data();
    const result = pull(db, ['*'], ids.ann);
    expect(result['person/pets']).toEqual([
      { 'db/id': ids.rex, 'pet/name': 'Rex', 'pet/toy': { 'db/id': ids.ball, 'toy/name': 'Ball' } },
      { 'db/id': ids.tom, 'pet/name': 'Tom' },
    ]);
  });

  it('uses a nested pattern instead when one is given', () => {
    const { db, ids } = data();
    expect(pull(db, [{ 'person/pets': ['pet/name'] }], ids.ann)).toEqual({ 'person/pets': [{ 'pet/name': 'Rex' }, { 'pet/name': 'Tom' }] });
  });

  it('respects :limit on component collections', () => {
    const { db, ids } = data();
    expect(pull(db, [['person/pets', 'limit', 1]], ids.ann)).toEqual({
      'person/pets': [{ 'db/id': ids.rex, 'pet/name': 'Rex', 'pet/toy': { 'db/id': ids.ball, 'toy/name': 'Ball' } }],
    });
  });

  it('stops at a component cycle with { db/id }', () => {
    const { db, ids } = world([{ 'db/id': 'p', 'pet/name': 'P', 'pet/toy': 'q' }, { 'db/id': 'q', 'toy/name': 'Q', 'pet/toy': 'p' }]);
    expect(pull(db, ['pet/toy'], ids.p)).toEqual({ 'pet/toy': { 'db/id': ids.q, 'toy/name': 'Q', 'pet/toy': { 'db/id': ids.p } } });
  });
});
