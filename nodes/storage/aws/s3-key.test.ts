import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeObjectKey, unescapeObjectKey } from './s3-key.ts';

// Strings made of the characters that matter: separators, dots, percent, plain and non-ASCII.
const keyText = fc.array(fc.constantFrom('a', 'B', '0', '/', '.', '%', '_', '-', ' ', 'ü', '€', '😀'), { maxLength: 12 }).map((parts) => parts.join(''));

describe('S3 object key escaping', () => {
  it.each([
    ['db/abc', 'db/abc'],
    ['a..b/..', 'a%2E%2Eb/%2E%2E'],
    ['/lead', '%2Flead'],
    ['a//b', 'a/%2Fb'],
    ['x y/ü%2F', 'x%20y/%C3%BC%252F'],
    ['', ''],
  ])('escapes %j as %j', (key, escaped) => {
    expect(escapeObjectKey(key)).toBe(escaped);
    expect(unescapeObjectKey(escaped)).toBe(key);
  });

  it('round-trips every key', () => {
    fc.assert(fc.property(keyText, (key) => unescapeObjectKey(escapeObjectKey(key)) === key), { seed: 42, numRuns: 500 });
  });

  it('keeps prefixes both ways: key starts with prefix exactly when the escapes do', () => {
    fc.assert(
      fc.property(keyText, keyText, (key, prefix) => {
        expect(escapeObjectKey(key).startsWith(escapeObjectKey(prefix))).toBe(key.startsWith(prefix));
        expect(escapeObjectKey(prefix + key).startsWith(escapeObjectKey(prefix))).toBe(true);
      }),
      { seed: 7, numRuns: 1000 },
    );
  });

  it('never yields an empty, "." or ".." path part', () => {
    fc.assert(
      fc.property(keyText, (key) => {
        const parts = escapeObjectKey(key).split('/');
        return parts.slice(0, -1).every((part) => part !== '' && part !== '.' && part !== '..') && !['.', '..'].includes(parts.at(-1) ?? '');
      }),
      { seed: 9, numRuns: 500 },
    );
  });

  it('refuses a bad escape with storage/corrupt', () => {
    expect(() => unescapeObjectKey('a%zz')).toThrow(expect.objectContaining({ code: 'storage/corrupt' }));
    expect(() => unescapeObjectKey('%FF')).toThrow(expect.objectContaining({ code: 'storage/corrupt' }));
  });
});
