import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { keyToPath, pathToKey, prefixFolder } from './key-path.ts';

describe('key paths', () => {
  it.each([
    ['db1/abc', 'db1/abc.segment'],
    ['Db1', '%44b1.segment'],
    ['..', '%2E%2E.segment'],
    ['a//b', 'a/%/b.segment'],
    ['/', '%/%.segment'],
    ['ü', '%C3%BC.segment'],
    ['a.segment', 'a%2Esegment.segment'],
  ])('maps %j to %j', (key, expected) => {
    expect(keyToPath(key, '.segment')).toBe(expected);
    expect(pathToKey(expected, '.segment')).toBe(key);
  });

  it('cuts long parts into continuation folders', () => {
    const key = `db/${'x'.repeat(450)}`;
    const relative = keyToPath(key, '.segment');
    expect(relative.split('/').map((name) => name.length)).toEqual([2, 201, 201, 58]);
    expect(pathToKey(relative, '.segment')).toBe(key);
  });

  it('rejects paths that no key maps to', () => {
    expect(pathToKey('abc.tmp', '.segment')).toBeNull();
    expect(pathToKey('ABC.segment', '.segment')).toBeNull();
    expect(pathToKey('a~.segment', '.segment')).toBeNull();
    expect(pathToKey('a%2.segment', '.segment')).toBeNull();
  });

  it('gives the folder of the complete parts of a prefix', () => {
    expect(prefixFolder('')).toBe('');
    expect(prefixFolder('db1')).toBe('');
    expect(prefixFolder('db1/')).toBe('db1');
    expect(prefixFolder('db1/a/b')).toBe('db1/a');
  });

  it('round-trips every string and keeps distinct keys on distinct, case-insensitively distinct paths', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 300 }), fc.string({ minLength: 1 }), (left, right) => {
        const leftPath = keyToPath(left, '.record');
        expect(pathToKey(leftPath, '.record')).toBe(Buffer.from(left).toString());
        if (Buffer.from(left).toString() !== Buffer.from(right).toString()) {
          expect(leftPath.toLowerCase()).not.toBe(keyToPath(right, '.record').toLowerCase());
        }
        for (const name of leftPath.split('/')) expect(Buffer.byteLength(name)).toBeLessThanOrEqual(208);
      }),
      { seed: 42, numRuns: 500 },
    );
  });
});
