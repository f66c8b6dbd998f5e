import { describe, expect, it } from 'vitest';
import { Cursor, checkTree, emptyTree, fromSorted, insertSorted, rank, rebuilt, removeSorted, toArray, type Node } from './int-tree.ts';
import { seededRandom as seeded } from '../util/random.ts';

// Keys are indexes into `weights`; the order is by weight, then key, so it differs from numeric order.

describe('int-tree against a sorted array', () => {
  for (const shape of [{ leafMax: 2, branchMax: 2 }, { leafMax: 3, branchMax: 4 }, { leafMax: 16, branchMax: 8 }]) {
    for (const seed of [1, 2, 3, 4, 5]) {
      it(`random batches, shape ${shape.leafMax}/${shape.branchMax}, seed ${seed}`, () => {
        const random = seeded(seed);
        const weights = Array.from({ length: 2000 }, () => Math.floor(random() * 500));
        const cmp = (a: number, b: number) => weights[a]! - weights[b]! || a - b;
        let tree: Node = emptyTree;
        const model = new Set<number>();
        const roots: Array<[Node, number[]]> = [];
        for (let step = 0; step < 120; step++) {
          const batch = new Set<number>();
          const n = Math.floor(random() * 40);
          const removing = random() < 0.4 && model.size > 0;
          const pool = [...model];
          for (let i = 0; i < n; i++) {
            if (removing) batch.add(pool[Math.floor(random() * pool.length)]!);
            else {
              const k = Math.floor(random() * weights.length);
              if (!model.has(k)) batch.add(k);
            }
          }
          const keys = [...batch].sort(cmp);
          tree = removing ? removeSorted(tree, keys, cmp, shape) : insertSorted(tree, keys, cmp, shape);
          for (const k of batch) {
            if (removing) model.delete(k);
            else model.add(k);
          }
          checkTree(tree, cmp, shape);
          const expected = [...model].sort(cmp);
          expect(toArray(tree)).toEqual(expected);
          expect(tree.size).toBe(expected.length);
          roots.push([tree, expected]);
          // rank and cursor from a random position
          const sought = Math.floor(random() * weights.length);
          const probe = (k: number) => cmp(sought, k);
          const at = expected.findIndex((k) => cmp(sought, k) <= 0);
          const index = at === -1 ? expected.length : at;
          expect(rank(tree, probe)).toBe(index);
          const cursor = new Cursor(tree, probe);
          expect(cursor.peek()).toBe(index < expected.length ? expected[index] : -1);
          const walked: number[] = [];
          for (let k = cursor.next(); k !== -1; k = cursor.next()) walked.push(k);
          expect(walked).toEqual(expected.slice(index));
        }
        // old roots are untouched by later updates (persistence)
        for (const [root, expected] of roots) expect(toArray(root)).toEqual(expected);
      });
    }
  }

  it('bulk builds from sorted keys', () => {
    const keys = Array.from({ length: 1000 }, (_, i) => i);
    const tree = fromSorted(keys, { leafMax: 7, branchMax: 3 });
    checkTree(tree, (a, b) => a - b, { leafMax: 7, branchMax: 3 });
    expect(toArray(tree)).toEqual([...keys]);
  });

  it('refuses to insert a key already present and to remove an absent one', () => {
    const cmp = (a: number, b: number) => a - b;
    const tree = insertSorted(emptyTree, [1, 2, 3], cmp);
    expect(() => insertSorted(tree, [2], cmp)).toThrow(/already present/);
    expect(() => removeSorted(tree, [7], cmp)).toThrow(/not present/);
  });

  // One key per update is the common case of a transaction; it takes the path-copying route with
  // splits and merges decided by the parent.
  for (const shape of [{ leafMax: 2, branchMax: 2 }, { leafMax: 4, branchMax: 3 }, { leafMax: 64, branchMax: 32 }]) {
    it(`single-key inserts and removes, shape ${shape.leafMax}/${shape.branchMax}`, () => {
      const random = seeded(shape.leafMax * 31 + shape.branchMax);
      const weights = Array.from({ length: 3000 }, () => Math.floor(random() * 700));
      const cmp = (a: number, b: number) => weights[a]! - weights[b]! || a - b;
      let tree: Node = emptyTree;
      const model = new Set<number>();
      const roots: Array<[Node, number[]]> = [];
      for (let step = 0; step < 1500; step++) {
        const removing = model.size > 0 && random() < (step < 900 ? 0.3 : 0.8);
        if (removing) {
          const pool = [...model];
          const k = pool[Math.floor(random() * pool.length)]!;
          tree = removeSorted(tree, [k], cmp, shape);
          model.delete(k);
        } else {
          const k = Math.floor(random() * weights.length);
          if (model.has(k)) continue;
          tree = insertSorted(tree, [k], cmp, shape);
          model.add(k);
        }
        if (step % 25 === 0) {
          checkTree(tree, cmp, shape);
          const expected = [...model].sort(cmp);
          expect(toArray(tree)).toEqual(expected);
          roots.push([tree, expected]);
        }
        expect(tree.size).toBe(model.size);
      }
      for (const [root, expected] of roots) expect(toArray(root)).toEqual(expected);
    });
  }

  it('appends in order, then empties and refills', () => {
    const shape = { leafMax: 3, branchMax: 3 };
    const cmp = (a: number, b: number) => a - b;
    let tree: Node = emptyTree;
    for (let k = 0; k < 500; k++) tree = insertSorted(tree, [k], cmp, shape);
    checkTree(tree, cmp, shape);
    expect(toArray(tree)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    const full = tree;
    for (let k = 0; k < 500; k += 2) tree = removeSorted(tree, [k, k + 1], cmp, shape);
    expect(tree.size).toBe(0);
    expect(toArray(tree)).toEqual([]);
    tree = insertSorted(tree, [7, 8, 9], cmp, shape);
    checkTree(tree, cmp, shape);
    expect(toArray(tree)).toEqual([7, 8, 9]);
    expect(toArray(full)).toHaveLength(500);
  });
});

describe('int-tree rebuilt', () => {
  it('drops the marked keys and merges new ones, as removeSorted and insertSorted would', () => {
    const random = seeded(9);
    const weights = Array.from({ length: 5000 }, () => Math.floor(random() * 300));
    const cmp = (a: number, b: number) => weights[a]! - weights[b]! || a - b;
    const shape = { leafMax: 8, branchMax: 4 };
    for (let round = 0; round < 20; round++) {
      const present = Array.from({ length: 5000 }, (_, k) => k).filter(() => random() < 0.5);
      const tree = fromSorted(present.slice().sort(cmp), shape);
      const drop = new Set(present.filter(() => random() < round / 20));
      const fresh = Array.from({ length: 5000 }, (_, k) => k).filter((k) => !present.includes(k) && random() < 0.1).sort(cmp);
      const out = rebuilt(tree, (k) => drop.has(k), drop.size, fresh, cmp, shape);
      checkTree(out, cmp, shape);
      const expected = insertSorted(removeSorted(tree, [...drop].sort(cmp), cmp, shape), fresh, cmp, shape);
      expect(toArray(out)).toEqual(toArray(expected));
      expect(toArray(tree)).toEqual(present.slice().sort(cmp)); // the old tree is unchanged
    }
  });

  it('refuses a drop count that does not match what is in the tree', () => {
    const cmp = (a: number, b: number) => a - b;
    const tree = fromSorted([1, 2, 3, 4]);
    expect(() => rebuilt(tree, (k) => k === 2 || k === 9, 2, [], cmp)).toThrow(/not in the tree/);
  });
});
