// Recursive pulls `{:attr n}` / `{:attr ...}`: depth limits and cycle safety.
import { describe, expect, it } from 'vitest';
import { kw, sym } from '../values/values.ts';
import { pull } from './index.ts';
import { world } from './test-db.ts';

/** a → b → c → d (managers), and a friend cycle ann ⇄ bob, bob → cy. */
const data = () =>
  world([
    { 'db/id': 'a', 'person/name': 'a', 'person/manager': 'b' },
    { 'db/id': 'b', 'person/name': 'b', 'person/manager': 'c' },
    { 'db/id': 'c', 'person/name': 'c', 'person/manager': 'd' },
    { 'db/id': 'd', 'person/name': 'd' },
    { 'db/id': 'ann', 'person/name': 'Ann', 'person/friend': ['bob'] },
    { 'db/id': 'bob', 'person/name': 'Bob', 'person/friend': ['ann', 'cy'] },
    { 'db/id': 'cy', 'person/name': 'Cy' },
    { 'db/id': 'self', 'person/name': 'Self', 'person/spouse': 'self' },
  ]);

describe('pull recursion', () => {
  it('follows an attribute to a depth, then leaves it out', () => {
    const { db, ids } = data();
    expect(pull(db, ['person/name', new Map([[kw('person/manager'), 1]])], ids.a)).toEqual({
      'person/name': 'a',
      'person/manager': { 'person/name': 'b' },
    });
    expect(pull(db, ['person/name', { 'person/manager': 2 }], ids.a)).toEqual({
      'person/name': 'a',
      'person/manager': { 'person/name': 'b', 'person/manager': { 'person/name': 'c' } },
    });
  });

  it('follows without limit with ...', () => {
    const { db, ids } = data();
    expect(pull(db, ['person/name', new Map([[kw('person/manager'), sym('...')]])], ids.a)).toEqual({
      'person/name': 'a',
      'person/manager': { 'person/name': 'b', 'person/manager': { 'person/name': 'c', 'person/manager': { 'person/name': 'd' } } },
    });
  });

  it('renders an entity already on the path as { db/id } (the root included)', () => {
    const { db, ids } = data();
    expect(pull(db, ['person/name', { 'person/friend': '...' }], ids.ann)).toEqual({
      'person/name': 'Ann',
      'person/friend': [{ 'person/name': 'Bob', 'person/friend': [{ 'db/id': ids.ann }, { 'person/name': 'Cy' }] }],
    });
    expect(pull(db, ['person/name', { 'person/spouse': '...' }], ids.self)).toEqual({ 'person/name': 'Self', 'person/spouse': { 'db/id': ids.self } });
  });

  it('stops cycles under a depth limit too', () => {
    const { db, ids } = data();
    expect(pull(db, ['person/name', { 'person/friend': 5 }], ids.ann)).toEqual({
      'person/name': 'Ann',
      'person/friend': [{ 'person/name': 'Bob', 'person/friend': [{ 'db/id': ids.ann }, { 'person/name': 'Cy' }] }],
    });
  });

  it('recurses through reverse refs', () => {
    const { db, ids } = data();
    expect(pull(db, ['person/name', { 'person/_manager': '...' }], ids.d)).toEqual({
      'person/name': 'd',
      'person/_manager': [{ 'person/name': 'c', 'person/_manager': [{ 'person/name': 'b', 'person/_manager': [{ 'person/name': 'a' }] }] }],
    });
  });

  it('counts depth per recursive attribute and pulls siblings with the same pattern', () => {
    const { db, ids } = data();
    expect(pull(db, ['person/name', { 'person/manager': 1, 'person/friend': 1 }], ids.b)).toEqual({
      'person/name': 'b',
      'person/manager': { 'person/name': 'c' },
    });
  });

  it('recursion with a wildcard pattern', () => {
    const { db, ids } = data();
    expect(pull(db, ['*', { 'person/manager': 2 }], ids.b)).toEqual({
      'db/id': ids.b,
      'person/name': 'b',
      'person/manager': { 'db/id': ids.c, 'person/name': 'c', 'person/manager': { 'db/id': ids.d, 'person/name': 'd' } },
    });
  });

  it('handles deep chains without a stack overflow at practical depths', () => {
    const chain = Array.from({ length: 2000 }, (_, i) => ({ 'db/id': `n${i}`, 'person/name': `n${i}`, ...(i < 1999 ? { 'person/manager': `n${i + 1}` } : {}) }));
    const { db, ids } = world(chain);
    let node = pull(db, ['person/name', { 'person/manager': '...' }], ids.n0);
    let length = 1;
    while (node['person/manager'] !== undefined) {
      node = node['person/manager'] as Record<string, unknown>;
      length++;
    }
    expect(length).toBe(2000);
  });
});
