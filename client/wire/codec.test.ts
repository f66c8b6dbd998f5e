import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ednEqual } from '../../nodes/edn/edn-equal.ts';
import { isFactumError } from '../../nodes/util/errors.ts';
import { arbitraryValue } from '../../nodes/values/arbitrary.ts';
import { BigDec, Keyword, kw, list, Sym, sym, Tagged, Uri, Uuid } from '../../nodes/values/values.ts';
import { decode, encode, extensionTypes, nestingMax } from './codec.ts';

const roundTrip = (value: unknown): unknown => decode(encode(value));

function expectRoundTrip(value: unknown): unknown {
  const back = roundTrip(value);
  expect(ednEqual(back, value), 'decode(encode(value)) is not ednEqual to the value').toBe(true);
  return back;
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (isFactumError(error)) return error.code;
    throw error;
  }
  return 'no error';
}

const uuid = Uuid.parse('f81d4fae-7dec-11d0-a765-00a0c91e6bf6')!;

describe('round trips of arbitrary values', () => {
  it('every value of values.ts, nested', () => {
    fc.assert(fc.property(arbitraryValue(), (value) => ednEqual(roundTrip(value), value)), { numRuns: 3000 });
  });

  it('plain objects holding any value, nested', () => {
    fc.assert(fc.property(arbitraryValue({ plainObjects: true, depthMax: 4 }), (value) => ednEqual(roundTrip(value), value)), { numRuns: 3000 });
  });

  it('arrays of same-shaped plain objects (records)', () => {
    const row = fc.record({ 'db/id': fc.maxSafeNat(), 'person/name': fc.string(), 'person/tags': fc.array(fc.string(), { maxLength: 3 }) });
    fc.assert(fc.property(fc.array(row, { maxLength: 80 }), (rows) => ednEqual(roundTrip(rows), rows)), { numRuns: 500 });
  });
});

describe('edge cases', () => {
  const cases: Array<[string, unknown]> = [
    ['-0', -0],
    ['-0 nested in an array', [1, [-0], { x: -0 }]],
    ['-0 in a List, a Set, a Tagged, a Map value', [list(-0), new Set([[-0]]), new Tagged('my/t', -0), new Map([[kw('k'), -0]])]],
    ['0', 0],
    ['NaN', NaN],
    ['Infinity and -Infinity', [Infinity, -Infinity]],
    ['the smallest double and the largest', [5e-324, Number.MAX_VALUE, -Number.MAX_VALUE]],
    ['integers around 32 and 53 bits', [2 ** 31, 2 ** 32, -(2 ** 32), 2 ** 53, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 127, 128, -32, -33]],
    ['doubles that look like integers in other codecs', [1e21, 1.5, -2.25, 0.1]],
    ['0n and small bigints', [0n, 1n, -1n, 64n]],
    ['2^53 + 1 as a bigint', 2n ** 53n + 1n],
    ['bigints at and beyond 64 bits', [2n ** 63n, -(2n ** 63n), 2n ** 64n - 1n, 2n ** 64n, -(2n ** 64n) - 1n, 2n ** 200n, -(3n ** 150n)]],
    ['BigDec keeps its scale', [new BigDec(150n, 2), new BigDec(15n, 1), new BigDec(-(10n ** 40n), 40), new BigDec(0n, 0)]],
    ['a keyword and a symbol', [kw('person/name'), kw('a'), sym('?e'), sym('clojure.core/+')]],
    ['a Map with keyword, array, map and null keys', new Map<unknown, unknown>([[kw('k'), 1], [[1, 2], 'v'], [new Map([[1, 2]]), null], [null, []], ['s', 2n]])],
    ['a Set of sets', new Set([new Set([1, 2]), new Set(), new Set([kw('a')])])],
    ['a List of lists', list(list(), list(1, list(2)))],
    ['empty everything', [[], list(), new Map(), new Set(), {}, '', new Uint8Array(0), new Tagged('t', null)]],
    ['Dates', [new Date(0), new Date(-1), new Date(1_700_000_000_123), new Date(8.64e15), new Date(-8.64e15)]],
    ['a Uuid and a Uri', [uuid, Uuid.parse('00000000-0000-0000-0000-000000000000'), new Uri('https://example.org/a?b#c')]],
    ['bytes', [new Uint8Array([0, 1, 0xc1, 255]), new Uint8Array(300).fill(7)]],
    ['a Tagged value', new Tagged('my.ns/tag', { a: [1, kw('b')] })],
    ['strings with lone surrogates', ['\ud800', 'a\udc00b', 'x'.repeat(100) + '\ud83d', '😀', '\u0000']],
    ['lone surrogates in keywords, symbols, uris, tags and keys', [kw('a\ud800'), sym('\udc00'), new Uri('\ud800'), new Tagged('t\ud800', 1), { '\ud800': 1 }, new Map([['\udc00', 2]])]],
    ['a __proto__ own key', JSON.parse('{"__proto__": {"a": 1}, "b": 2}')],
    ['a plain object with a constructor and a toJSON key', { constructor: 1, toJSON: 'x', hasOwnProperty: 3 }],
    ['a null-prototype object', Object.assign(Object.create(null), { a: 1 })],
    ['a plain object beside a Map', [{ a: 1 }, new Map([['a', 1]])]],
    ['many shapes in one message', Array.from({ length: 200 }, (_, i) => ({ [`k${i}`]: i, nested: { [`n${i % 7}`]: [i] } }))],
    ['an object with 70,000 keys', Object.fromEntries(Array.from({ length: 70_000 }, (_, i) => [`k${i}`, i]))],
    ['deep nesting', Array.from({ length: nestingMax - 1 }).reduce<unknown>((inner) => [inner], 1)],
  ];
  it.each(cases)('%s', (_, value) => {
    expectRoundTrip(value);
  });

  it('-0 comes back as -0 at the top level and nested', () => {
    expect(Object.is(roundTrip(-0), -0)).toBe(true);
    expect(Object.is((roundTrip([-0]) as number[])[0], -0)).toBe(true);
    expect(Object.is((roundTrip({ a: -0 }) as { a: number }).a, -0)).toBe(true);
    expect(Object.is(roundTrip(0), 0)).toBe(true);
  });

  it('integers come back as numbers and bigints as bigints', () => {
    expect(roundTrip([2 ** 40, 5, -(2 ** 40), 2 ** 53])).toStrictEqual([2 ** 40, 5, -(2 ** 40), 2 ** 53]);
    expect(roundTrip([5n, 2n ** 53n + 1n, 0n])).toStrictEqual([5n, 2n ** 53n + 1n, 0n]);
  });

  it('keywords and symbols come back as the interned instances', () => {
    const [k, s] = roundTrip([kw('person/name'), sym('?x')]) as [Keyword, Sym];
    expect(k).toBe(Keyword.of('person/name'));
    expect(s).toBe(Sym.of('?x'));
  });

  it('bytes come back as a plain Uint8Array that owns its memory, from a Uint8Array or a Buffer', () => {
    const message = encode({ b: Buffer.from([1, 2, 3]) });
    for (const source of [message, new Uint8Array(message), Buffer.from(message)]) {
      const { b } = decode(source) as { b: Uint8Array };
      expect(b.constructor).toBe(Uint8Array);
      expect(ednEqual(b, new Uint8Array([1, 2, 3]))).toBe(true);
      expect(b.byteLength).toBe(b.buffer.byteLength);
    }
  });

  it('plain objects come back as plain objects and Maps as Maps', () => {
    const [object, map, nullPrototype] = roundTrip([{ a: 1 }, new Map([['a', 1]]), Object.create(null)]) as unknown[];
    expect(Object.getPrototypeOf(object)).toBe(Object.prototype);
    expect(map).toBeInstanceOf(Map);
    expect(Object.getPrototypeOf(nullPrototype)).toBe(Object.prototype);
  });

  it('an invalid Date comes back as an invalid Date', () => {
    const back = roundTrip(new Date(NaN)) as Date;
    expect(back).toBeInstanceOf(Date);
    expect(back.getTime()).toBeNaN();
  });

  it('keeps a key whose value is undefined, and undefined elsewhere', () => {
    const back = roundTrip({ a: undefined, b: [undefined] }) as Record<string, unknown>;
    expect(Object.keys(back)).toStrictEqual(['a', 'b']);
    expect(back.a).toBeUndefined();
    expect(back.b).toStrictEqual([undefined]);
    expect(roundTrip(undefined)).toBeUndefined();
  });

  it('a __proto__ key stays an own property and does not set the prototype', () => {
    const back = roundTrip(JSON.parse('{"__proto__": {"polluted": true}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.keys(back)).toStrictEqual(['__proto__']);
    expect((back as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it('every message is self-contained: messages decode in any order after the encoder has seen their shapes', () => {
    const rows = (n: number): unknown[] => Array.from({ length: 3 }, (_, i) => ({ 'db/id': n + i, 'person/name': `p${i}` }));
    const messages = [encode(rows(1)), encode(rows(10)), encode({ other: true }), encode(rows(100))];
    expect(decode(messages[3]!)).toStrictEqual(rows(100));
    expect(decode(messages[1]!)).toStrictEqual(rows(10));
    expect(decode(messages[2]!)).toStrictEqual({ other: true });
    expect(decode(messages[0]!)).toStrictEqual(rows(1));
  });

  it('a message stays valid after later messages are encoded', () => {
    const first = encode({ a: 'first' });
    const copy = [...first];
    for (let i = 0; i < 2000; i++) encode({ a: 'x'.repeat(i) });
    expect([...first]).toStrictEqual(copy);
    expect(first.constructor).toBe(Uint8Array);
  });
});

describe('values the wire does not carry', () => {
  class Point {
    constructor(readonly x: number) {}
  }
  const cyclic: unknown[] = [];
  cyclic.push(cyclic);
  const cases: Array<[string, unknown, RegExp]> = [
    ['a function', () => 1, /function/],
    ['a symbol', Symbol('s'), /Symbol\(s\)/],
    ['a class instance', new Point(1), /instance of Point/],
    ['an Error', new Error('e'), /instance of Error/],
    ['a RegExp', /x/, /instance of RegExp/],
    ['a typed array other than bytes', new Int16Array(2), /instance of Int16Array/],
    ['an ArrayBuffer', new ArrayBuffer(2), /instance of ArrayBuffer/],
    ['a Promise', Promise.resolve(1), /instance of Promise/],
    ['a WeakMap', new WeakMap(), /instance of WeakMap/],
    ['a class instance inside a plain object', { a: [new Point(1)] }, /instance of Point/],
    ['a function as a Map key', new Map([[() => 1, 1]]), /function/],
    ['a symbol in a Set', new Set([Symbol.iterator]), /Symbol\(Symbol.iterator\)/],
    ['a class instance in a List and in a Tagged', [list(new Tagged('t', new Point(2)))], /instance of Point/],
    ['a class instance next to a lone surrogate', ['\ud800', new Point(3)], /instance of Point/],
    ['a cyclic array', cyclic, /deeper than 1000/],
  ];
  it.each(cases)('%s throws wire/unsupported-value naming its type', (_, value, message) => {
    expect(codeOf(() => encode(value))).toBe('wire/unsupported-value');
    expect(() => encode(value)).toThrow(message);
  });
});

describe('bad bytes throw wire/malformed', () => {
  const ext = (type: number, payload: number[]): number[] => [0xc7, payload.length, type, ...payload]; // ext 8
  const fixext1 = (type: number, ...value: number[]): number[] => [0xd4, type, 0, ...value]; // a `write` extension, then its value
  const str = (text: string): number[] => [0xa0 | text.length, ...Buffer.from(text)];
  const cases: Array<[string, number[]]> = [
    ['no bytes', []],
    ['the never-used byte 0xc1', [0xc1]],
    ['0xc1 inside an array', [0x92, 0x01, 0xc1]],
    ['0xc1 inside a map', [0x81, 0xc1, 0x01]],
    ['trailing bytes', [0x01, 0x02]],
    ['a truncated array', [0x93, 0x01]],
    ['a truncated string', [0xa5, 0x61]],
    ['a truncated float', [0xcb, 0x00, 0x00]],
    ['an unknown extension', ext(0x50, [1, 2])],
    ['an unknown fixext1', [0xd4, 0x51, 0x00]],
    ['a Uuid of 15 bytes', ext(extensionTypes.uuid, Array(15).fill(1))],
    ['a Uuid of 1 byte', [0xd4, extensionTypes.uuid, 0x01]],
    ['a Keyword whose payload is a number', fixext1(extensionTypes.keyword, 0x05)],
    ['a Keyword as raw ext bytes', ext(extensionTypes.keyword, [0x61, 0x62])],
    ['a Sym whose payload is nil', fixext1(extensionTypes.symbol, 0xc0)],
    ['a Uri whose payload is an array', fixext1(extensionTypes.uri, 0x90)],
    ['a BigDec with a number unscaled', fixext1(extensionTypes.bigDec, 0x92, 0x01, 0x01)],
    ['a BigDec with a fractional scale', fixext1(extensionTypes.bigDec, 0x92, 0xd3, 0, 0, 0, 0, 0, 0, 0, 1, 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0)],
    ['a BigDec of 3 items', fixext1(extensionTypes.bigDec, 0x93, 0xc0, 0xc0, 0xc0)],
    ['a List whose payload is a string', fixext1(extensionTypes.list, ...str('ab'))],
    ['a Set whose payload is a string', fixext1(extensionTypes.set, ...str('ab'))],
    ['a Set with a duplicate element', fixext1(extensionTypes.set, 0x92, 0x01, 0x01)],
    ['a Date of a fractional time', fixext1(extensionTypes.date, 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0)],
    ['a Date beyond ±8.64e15 ms', fixext1(extensionTypes.date, 0xcb, 0x43, 0x40, 0, 0, 0, 0, 0, 0)],
    ['a Date whose payload is a string', fixext1(extensionTypes.date, ...str('2020'))],
    ['a Tagged without a value', fixext1(extensionTypes.tagged, 0x91, ...str('t'))],
    ['a Tagged whose tag is a number', fixext1(extensionTypes.tagged, 0x92, 0x01, 0x01)],
    ['a -0 whose payload is not 0', fixext1(extensionTypes.negativeZero, 0x01)],
    ['a UTF-16 string of an odd number of bytes', ext(extensionTypes.unpairedString, [0x61, 0x00, 0x62])],
    ['object entries of an odd count', fixext1(extensionTypes.objectEntries, 0x93, ...str('a'), 0x01, ...str('b'))],
    ['object entries with a number key', fixext1(extensionTypes.objectEntries, 0x92, 0x01, 0x01)],
    ['msgpackr Error', [0xd4, 0x65, 0x00, 0x92, ...str('Error'), ...str('x')]],
    ['msgpackr RegExp', [0xd4, 0x78, 0x00, 0x92, ...str('x'), ...str('')]],
    ['msgpackr typed array', ext(0x74, [1, 0, 0])],
    ['msgpack timestamp', [0xd6, 0xff, 0, 0, 0, 1]],
    ['msgpackr bundled strings', [0xd6, 0x62, 0, 0, 0, 0]],
    ['msgpackr structured-clone pointer', [0xd6, 0x70, 0, 0, 0, 1]],
    ['msgpackr record definition cut short', [0xd4, 0x72, 0x40]],
  ];
  it.each(cases)('%s', (_, bytes) => {
    expect(codeOf(() => decode(Uint8Array.from(bytes)))).toBe('wire/malformed');
  });

  it('not a Uint8Array', () => {
    expect(codeOf(() => decode('bytes' as unknown as Uint8Array))).toBe('wire/malformed');
    expect(codeOf(() => decode(null as unknown as Uint8Array))).toBe('wire/malformed');
  });

  it('every proper prefix of a message', () => {
    const message = encode([{ 'db/id': 1, name: 'x', tags: new Set([kw('a')]) }, new BigDec(1n, 1), uuid, 2n ** 70n, -0, '\ud800', new Date(1), list(1)]);
    for (let end = 0; end < message.length; end++) {
      expect(codeOf(() => decode(message.subarray(0, end))), `prefix of ${end} bytes`).toBe('wire/malformed');
    }
  });

  it('random bytes decode to a value the wire carries, or throw wire/malformed', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 60 }), (bytes) => {
        let value: unknown;
        try {
          value = decode(bytes);
        } catch (error) {
          return isFactumError(error, 'wire/malformed');
        }
        encode(value); // throws wire/unsupported-value for anything outside values.ts
        return true;
      }),
      { numRuns: 5000 },
    );
  });

  it('random corruption of a valid message decodes to a carried value or throws wire/malformed', () => {
    const message = encode([{ a: kw('k'), b: [uuid, new Date(5), new BigDec(5n, 2)] }, new Map([[1, new Set([2])]]), list(new Tagged('t', 'v'))]);
    fc.assert(
      fc.property(fc.nat({ max: message.length - 1 }), fc.integer({ min: 0, max: 255 }), (at, byte) => {
        const bytes = new Uint8Array(message);
        bytes[at] = byte;
        try {
          encode(decode(bytes));
        } catch (error) {
          return isFactumError(error, 'wire/malformed');
        }
        return true;
      }),
      { numRuns: 3000 },
    );
  });
});
