import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ednEqual } from '../edn/edn-equal.ts';
import { isFactumError } from '../util/errors.ts';
import { arbitraryValue } from './arbitrary.ts';
import { Reader, Writer, decodeValue, encodeValue, nestingMax } from './codec.ts';
import { BigDec, Tagged, Uri, Uuid, kw, list, sym } from './values.ts';

function roundTrip(value: unknown): unknown {
  return decodeValue(encodeValue(value));
}

function intBytes(n: number): number[] {
  const writer = new Writer();
  writer.int(n);
  return [...writer.finish()];
}

function expectCorrupt(bytes: Uint8Array): void {
  let thrown: unknown;
  try {
    decodeValue(bytes);
  } catch (error) {
    thrown = error;
  }
  expect(isFactumError(thrown, 'storage/corrupt'), `expected storage/corrupt, got ${String(thrown)}`).toBe(true);
}

describe('encodeValue / decodeValue', () => {
  const cases: [string, unknown][] = [
    ['nil', null],
    ['true', true],
    ['false', false],
    ['small integers', [0, 1, 127, 128, 255, -1, -128]],
    ['safe integer bounds', [Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 31, 2 ** 32, -(2 ** 31)]],
    ['negative zero', -0],
    ['NaN and infinities', [NaN, Infinity, -Infinity]],
    ['doubles', [1.5, -2.25, 5e-324, Number.MAX_VALUE, 2 ** 53, 1e21]],
    ['bigints', [0n, 1n, -1n, 2n ** 64n, -(2n ** 200n) + 7n, 255n, 256n]],
    ['BigDec', [new BigDec(150n, 2), new BigDec(-1n, 40), new BigDec(0n, 0), new BigDec(15n, -3)]],
    ['strings', ['', 'a', 'héllo', '😀 emoji', '\u0000', 'x'.repeat(1000), 'é'.repeat(100)]],
    ['lone surrogates', ['\ud800', 'a\udc00b', '\ud83d', 'x'.repeat(100) + '\udfff']],
    ['byte order mark', '\ufeffstart'],
    ['keywords and symbols', [kw('db/id'), kw('a'), sym('?e'), sym('...'), sym('/')]],
    ['instants', [new Date(0), new Date(-1), new Date(8.64e15), new Date(-8.64e15), new Date(1700000000123)]],
    ['uuid', Uuid.parse('f81d4fae-7dec-11d0-a765-00a0c91e6bf6')],
    ['uri', new Uri('https://example.com/a?b=c')],
    ['bytes', [new Uint8Array(0), new Uint8Array([0, 255, 128])]],
    ['list', list(sym('pull'), sym('?e'), [kw('name')])],
    ['map', new Map<unknown, unknown>([[kw('a'), 1], [[1, 2], 'tuple key'], ['s', null]])],
    ['set', new Set([1, 'one', kw('one'), 1n])],
    ['tagged', new Tagged('my/tag', [1, new Tagged('t', null)])],
    ['plain object', { 'person/name': 'x', nested: { __proto__: 1, ok: [true] } }],
  ];
  it.each(cases)('%s round-trips exactly', (_, value) => {
    expect(ednEqual(roundTrip(value), value)).toBe(true);
  });

  it('keeps a plain object key named __proto__ as a key', () => {
    const value = JSON.parse('{"__proto__": 1}') as Record<string, unknown>;
    const back = roundTrip(value) as Record<string, unknown>;
    expect(Object.keys(back)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
  });

  it('encodes small values compactly', () => {
    expect(encodeValue(5).length).toBe(1);
    expect(encodeValue(null).length).toBe(1);
    expect(encodeValue(kw('db/id')).length).toBe(1 + 1 + 5);
    expect(encodeValue(1700000000000).length).toBeLessThanOrEqual(7);
  });

  it('is deterministic', () => {
    const value = [kw('a'), 'text', 1.5, 10n ** 30n, new Date(5)];
    expect(encodeValue(value)).toEqual(encodeValue(value));
  });

  it('round-trips every generated value, plain objects included', () => {
    fc.assert(
      fc.property(arbitraryValue({ depthMax: 4, plainObjects: true }), (value) => {
        expect(ednEqual(roundTrip(value), value)).toBe(true);
      }),
      { seed: 42, numRuns: 2000 },
    );
  });

  it('decodes many distinct keywords correctly through its keyword cache', () => {
    const keywords = Array.from({ length: 5000 }, (_, i) => kw(`ns${i % 7}/name-${i}`));
    const twice = [...keywords, ...keywords];
    const back = roundTrip(twice) as unknown[];
    expect(back.every((k, i) => k === twice[i])).toBe(true);
  });

  it('round-trips deep nesting up to the limit', () => {
    let value: unknown = 1;
    for (let i = 0; i < nestingMax; i++) value = [value];
    expect(ednEqual(roundTrip(value), value)).toBe(true);
  });
});

describe('bad input to the writer', () => {
  it.each([
    ['undefined', undefined],
    ['a function', () => 1],
    ['a JS symbol', Symbol('x')],
    ['a class instance', new (class Point {})()],
    ['an invalid Date', new Date(NaN)],
    ['nested undefined', [1, undefined]],
  ])('%s is value/wrong-type', (_, value) => {
    expect(() => encodeValue(value)).toThrow(expect.objectContaining({ code: 'value/wrong-type' }));
  });

  it('refuses nesting beyond the limit with value/too-large', () => {
    let value: unknown = 1;
    for (let i = 0; i <= nestingMax; i++) value = [value];
    expect(() => encodeValue(value)).toThrow(expect.objectContaining({ code: 'value/too-large' }));
  });
});

describe('Writer and Reader primitives', () => {
  it('round-trip uint, int, float64, bytes, string and values in sequence', () => {
    const writer = new Writer(1);
    const uints = [0, 1, 127, 128, 16383, 16384, 2 ** 31 - 1, 2 ** 31, 2 ** 32, Number.MAX_SAFE_INTEGER];
    const ints = [0, 1, -1, 63, 64, -63, -64, -65, 2 ** 40, -(2 ** 40), Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER];
    for (const n of uints) writer.uint(n);
    for (const n of ints) writer.int(n);
    writer.float64(-0);
    writer.bytes(new Uint8Array([1, 2, 3]));
    writer.string('chaîne');
    writer.value(kw('end'));
    const reader = new Reader(writer.finish());
    expect(uints.map(() => reader.uint())).toEqual(uints);
    expect(ints.map(() => reader.int())).toEqual(ints);
    expect(Object.is(reader.float64(), -0)).toBe(true);
    expect(reader.bytes()).toEqual(new Uint8Array([1, 2, 3]));
    expect(reader.string()).toBe('chaîne');
    expect(reader.value()).toBe(kw('end'));
    expect(reader.done).toBe(true);
  });

  it('round-trips uint and int over random safe integers', () => {
    fc.assert(
      fc.property(fc.array(fc.maxSafeNat()), fc.array(fc.maxSafeInteger()), (uints, ints) => {
        const writer = new Writer(4);
        for (const n of uints) writer.uint(n);
        for (const n of ints) writer.int(n);
        const reader = new Reader(writer.finish());
        expect(uints.map(() => reader.uint())).toEqual(uints);
        expect(ints.map(() => reader.int() + 0)).toEqual(ints.map((n) => n + 0));
        expect(reader.done).toBe(true);
      }),
      { seed: 5 },
    );
  });

  it('starts over empty after finish', () => {
    const writer = new Writer();
    writer.string('first');
    writer.finish();
    writer.uint(3);
    expect(writer.finish()).toEqual(new Uint8Array([3]));
  });

  it('decodes from a view into a larger buffer', () => {
    const bytes = encodeValue([1.5, 'x']);
    const padded = new Uint8Array(bytes.length + 10);
    padded.set(bytes, 5);
    expect(decodeValue(padded.subarray(5, 5 + bytes.length))).toEqual([1.5, 'x']);
  });
});

describe('corrupt input', () => {
  const corruptions: [string, number[]][] = [
    ['empty input', []],
    ['an unknown tag', [0x7f]],
    ['a truncated float', [5, 0, 0, 0]],
    ['a varint past the end', [3, 0x80]],
    ['an overlong varint', [3, 0x80, 0x80, 0x00]],
    ['a varint longer than 8 bytes', [3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
    ['a varint beyond 2^53', [3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]],
    ['a small integer written long', [3, 5]],
    ['negative zero integer', [4, 0]],
    ['an integer written as a float', [5, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]],
    ['a string longer than the input', [7, 20, 0x61]],
    ['invalid UTF-8', [7, 2, 0xff]],
    ['an encoded surrogate in UTF-8', [7, 6, 0xed, 0xa0, 0x80]],
    ['UTF-16 text of odd length', [7, 3, 0x61]],
    ['a huge vector count', [15, 0xff, 0xff, 0xff, 0xff, 0x0f]],
    ['a vector missing elements', [15, 3, 0x81]],
    ['a map with duplicate keys', [17, 2, 0x81, 0x82, 0x81, 0x83]],
    ['a set with duplicate elements', [18, 2, 0x81, 0x81]],
    ['an object with duplicate keys', [20, 2, 2, 0x61, 0x81, 2, 0x61, 0x82]],
    ['negative zero bigint', [6, 1]],
    ['a bigint with a leading zero byte', [6, 4, 0, 1]],
    ['an instant beyond the Date range', [11, ...intBytes(8.64e15 + 1)]],
    ['well-formed text in the UTF-16 form', [7, 5, 0x61, 0x00]],
    ['a truncated uuid', [12, 1, 2, 3]],
    ['trailing bytes', [0, 0]],
    ['a negative zero int in a BigDec scale', [10, 0x40, 0]],
  ];
  it.each(corruptions)('%s is storage/corrupt', (_, bytes) => {
    expectCorrupt(new Uint8Array(bytes));
  });

  it('nesting beyond the limit is storage/corrupt, not a stack overflow', () => {
    expectCorrupt(new Uint8Array(nestingMax + 2).fill(15).map((b, i) => (i % 2 === 1 ? 1 : b)));
    const deep = new Uint8Array(2 * (nestingMax + 1) + 1);
    for (let i = 0; i < nestingMax + 1; i++) deep.set([15, 1], i * 2);
    deep[deep.length - 1] = 0;
    expectCorrupt(deep);
  });

  it('every truncation of a valid encoding is storage/corrupt', () => {
    fc.assert(
      fc.property(arbitraryValue({ plainObjects: true }), (value) => {
        const bytes = encodeValue(value);
        for (let cut = 0; cut < bytes.length; cut++) expectCorrupt(bytes.subarray(0, cut));
      }),
      { seed: 9, numRuns: 300 },
    );
  });

  it('random bytes either decode or throw storage/corrupt, and decoded values re-encode identically', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        let value: unknown;
        try {
          value = decodeValue(bytes);
        } catch (error) {
          expect(isFactumError(error, 'storage/corrupt'), String(error)).toBe(true);
          return;
        }
        expect(encodeValue(value)).toEqual(bytes);
      }),
      { seed: 13, numRuns: 5000 },
    );
  });
});
