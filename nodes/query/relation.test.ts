import { describe, expect, it } from 'vitest';
import { BigDec, kw } from '../values/values.ts';
import { RowSet, antiJoin, distinctRows, join, project } from './relation.ts';
import { seeded } from '../../test/query/generate.ts';

describe('RowSet', () => {
  it('matches a reference set of JSON keys, through widening and the switch to strings', () => {
    for (const arity of [1, 2, 3, 4]) {
      const random = seeded(arity);
      const set = new RowSet();
      const reference = new Set<string>();
      for (let i = 0; i < 60_000; i++) {
        // Few distinct values at first, then many, to force the radix to grow and overflow.
        const spread = i < 30_000 ? 50 : 200_000;
        const row = Array.from({ length: arity }, () => Math.floor(random() * spread));
        expect(set.add(row)).toBe(!reference.has(JSON.stringify(row)));
        reference.add(JSON.stringify(row));
      }
      expect(set.size).toBe(reference.size);
    }
  });
  it('treats equal values as equal: 1 and 1n, 1.5M and 1.50M, interned keywords', () => {
    const set = new RowSet();
    expect(set.add([1, new BigDec(15n, 1)])).toBe(true);
    expect(set.add([1n, new BigDec(150n, 2)])).toBe(false);
    expect(set.add([kw('a'), 'a'])).toBe(true);
    expect(set.add([kw('a'), 'a'])).toBe(false);
    expect(set.add(['a', kw('a')])).toBe(true);
  });
  it('keeps strings and other values apart', () => {
    expect(distinctRows([['\u0000d5'], [new Date(5)], ['d5']])).toHaveLength(3);
  });
});

describe('joins', () => {
  it('merge-joins relations sorted by the join column like a hash join would', () => {
    const random = seeded(7);
    for (let k = 0; k < 50; k++) {
      const make = (name: string) => Array.from({ length: Math.floor(random() * 30) }, () => [Math.floor(random() * 10), name + Math.floor(random() * 3)])
        .sort((a, b) => (a[0] as number) - (b[0] as number));
      const left = { columns: ['?e', '?a'], rows: make('a') };
      const right = { columns: ['?e', '?b'], rows: make('b') };
      const merged = join({ ...left, sortedBy: '?e' }, { ...right, sortedBy: '?e' });
      const hashed = join(left, right);
      if (left.rows.length > 0 && right.rows.length > 0) expect(merged.sortedBy).toBe('?e');
      expect(merged.rows.map((r) => JSON.stringify(r)).sort()).toEqual(hashed.rows.map((r) => JSON.stringify(r)).sort());
    }
  });
  it('joins on shared columns, multiplies without them, and anti-joins', () => {
    const left = { columns: ['?a', '?b'], rows: [[1, 'x'], [2, 'y']] };
    const right = { columns: ['?b', '?c'], rows: [['x', 10], ['x', 11], ['z', 12]] };
    expect(join(left, right).rows).toEqual([[1, 'x', 10], [1, 'x', 11]]);
    expect(join(left, { columns: ['?d'], rows: [[0], [1]] }).rows).toHaveLength(4);
    expect(antiJoin(left, right).rows).toEqual([[2, 'y']]);
  });
});

describe('project', () => {
  it('removes adjacent duplicates of a sorted column and keeps it sorted', () => {
    const relation = { columns: ['?e', '?v'], rows: [[1, 'a'], [1, 'b'], [2, 'a'], [5, 'c'], [5, 'c']], sortedBy: '?e' };
    expect(project(relation, ['?e'], true)).toEqual({ columns: ['?e'], rows: [[1], [2], [5]], distinct: true, sortedBy: '?e' });
  });
  it('returns a distinct relation projected onto all its columns as it is', () => {
    const relation = { columns: ['?a', '?b'], rows: [[1, 2], [2, 1]], distinct: true };
    expect(project(relation, ['?a', '?b'], true)).toBe(relation);
    expect(project(relation, ['?b', '?a'], true).rows).toEqual([[2, 1], [1, 2]]);
  });
  it('removes duplicates of an unsorted column by value', () => {
    const relation = { columns: ['?e', '?v'], rows: [[2, 'a'], [1, 'b'], [2, 'c']] };
    expect(project(relation, ['?e'], true).rows).toEqual([[2], [1]]);
  });
});
