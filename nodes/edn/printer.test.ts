import { describe, expect, it } from 'vitest';
import { BigDec, Tagged, Uri, Uuid, kw, list, sym } from '../values/values.ts';
import { ednEqual } from './edn-equal.ts';
import { printEdn } from './printer.ts';
import { readEdn } from './reader.ts';

/** Value → its exact EDN text. */
const printsAs: [string, unknown, string][] = [
  ['nil', null, 'nil'],
  ['true', true, 'true'],
  ['false', false, 'false'],
  ['a safe integer', 42, '42'],
  ['a negative integer', -7, '-7'],
  ['the largest safe integer', 9007199254740991, '9007199254740991'],
  ['negative zero', -0, '-0.0'],
  ['a double', 1.5, '1.5'],
  ['a small double', 1e-7, '1e-7'],
  ['a double beyond 2^53', 2 ** 53, '9007199254740992.0'],
  ['1e20', 1e20, '100000000000000000000.0'],
  ['1e21', 1e21, '1e+21'],
  ['the shortest round-trip digits', 0.1 + 0.2, '0.30000000000000004'],
  ['infinity', Infinity, '##Inf'],
  ['negative infinity', -Infinity, '##-Inf'],
  ['NaN', NaN, '##NaN'],
  ['a small bigint', 42n, '42N'],
  ['a large bigint', -(10n ** 30n), '-1000000000000000000000000000000N'],
  ['a BigDec', new BigDec(150n, 2), '1.50M'],
  ['a small BigDec', new BigDec(-5n, 3), '-0.005M'],
  ['a whole BigDec', new BigDec(7n, 0), '7M'],
  ['a BigDec with negative scale', new BigDec(15n, -2), '15E2M'],
  ['a string', 'hello', '"hello"'],
  ['escapes', 'a"b\\c\nd\te\rf\bg\fh', '"a\\"b\\\\c\\nd\\te\\rf\\bg\\fh"'],
  ['control characters', '\u0000\u001f\u007f', '"\\u0000\\u001f\\u007f"'],
  ['a surrogate pair', '😀', '"😀"'],
  ['lone surrogates', 'a\ud800b\udc00', '"a\\ud800b\\udc00"'],
  ['a keyword', kw('person/name'), ':person/name'],
  ['a symbol', sym('?e'), '?e'],
  ['a list', list(sym('pull'), sym('?e'), [kw('a')]), '(pull ?e [:a])'],
  ['a vector', [1, [2, []]], '[1 [2 []]]'],
  ['a map', new Map<unknown, unknown>([[kw('a'), 1], ['b', [2]]]), '{:a 1, "b" [2]}'],
  ['an empty map', new Map(), '{}'],
  ['a set', new Set([1, kw('x')]), '#{1 :x}'],
  ['an instant', new Date(Date.UTC(2020, 0, 31, 10, 15, 30, 123)), '#inst "2020-01-31T10:15:30.123Z"'],
  ['an instant in year 10000', new Date(Date.UTC(10000, 0, 1)), '#inst "+010000-01-01T00:00:00.000Z"'],
  ['a uuid', Uuid.parse('f81d4fae-7dec-11d0-a765-00a0c91e6bf6'), '#uuid "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"'],
  ['a uri', new Uri('https://x.org/"q"'), '#factum/uri "https://x.org/\\"q\\""'],
  ['bytes', new Uint8Array([104, 105]), '#factum/bytes "aGk="'],
  ['a tagged value', new Tagged('my/point', [1, 2]), '#my/point [1 2]'],
  ['a plain object', { 'person/name': 'x', age: 3 }, '{:person/name "x", :age 3}'],
  ['a plain object with a key that is no keyword', { 'two words': 1, '': 2 }, '{"two words" 1, "" 2}'],
  ['a datom-like object', { e: 1, a: 10, v: 'x', tx: 3, added: true }, '{:e 1, :a 10, :v "x", :tx 3, :added true}'],
  ['a class instance', new (class Point { x = 1; y = 2 })(), '{:x 1, :y 2}'],
];

describe('printEdn', () => {
  it.each(printsAs)('prints %s', (_, value, text) => {
    expect(printEdn(value)).toBe(text);
  });

  it.each(printsAs.filter(([name]) => !name.includes('object') && !name.includes('class') && !name.includes('negative scale')))(
    'reads %s back',
    (_, value, text) => {
      expect(ednEqual(readEdn(text), value)).toBe(true);
    },
  );

  it('prints a negative-scale BigDec so that it reads back numerically equal', () => {
    const back = readEdn(printEdn(new BigDec(15n, -2))) as BigDec;
    expect(back.compare(new BigDec(1500n, 0))).toBe(0);
  });

  it.each([
    ['undefined', undefined, 'undefined'],
    ['a function', () => 1, 'function'],
    ['a JS symbol', Symbol('s'), 'symbol'],
    ['nested undefined', [1, undefined], 'undefined'],
    ['an invalid Date', new Date(NaN), 'invalid Date'],
    ['a Tagged with a reserved tag', new Tagged('inst', '2020'), 'would read back as #inst, not as a Tagged'],
  ])('refuses %s with edn/unsupported', (_, value, fragment) => {
    expect(() => printEdn(value)).toThrow(expect.objectContaining({ code: 'edn/unsupported', message: expect.stringContaining(fragment) }));
  });
});

describe('pretty printing', () => {
  const query = readEdn('[:find ?e ?name :where [?e :person/name ?name] [?e :person/age 42]]');

  it('keeps what fits on one line', () => {
    expect(printEdn([1, 2, 3], { width: 80 })).toBe('[1 2 3]');
  });

  it('breaks a vector one element per line, aligned', () => {
    expect(printEdn(query, { width: 40 })).toBe(
      ['[:find', ' ?e', ' ?name', ' :where', ' [?e :person/name ?name]', ' [?e :person/age 42]]'].join('\n'),
    );
  });

  it('breaks a map one entry per line, values aligned after their keys', () => {
    const value = new Map<unknown, unknown>([
      [kw('db/ident'), kw('person/name')],
      [kw('db/valueType'), kw('db.type/string')],
      [kw('tags'), [kw('first-tag'), kw('second-tag'), kw('third-tag')]],
    ]);
    expect(printEdn(value, { width: 36 })).toBe(
      [
        '{:db/ident :person/name,',
        ' :db/valueType :db.type/string,',
        ' :tags [:first-tag',
        '        :second-tag',
        '        :third-tag]}',
      ].join('\n'),
    );
  });

  it('breaks lists, sets and tagged values', () => {
    expect(printEdn(list(sym('f'), 'aaaa', 'bbbb'), { width: 10 })).toBe('(f\n "aaaa"\n "bbbb")');
    expect(printEdn(new Set(['aaaa', 'bbbb']), { width: 10 })).toBe('#{"aaaa"\n  "bbbb"}');
    expect(printEdn(new Tagged('t', ['aaaa', 'bbbb']), { width: 10 })).toBe('#t ["aaaa"\n    "bbbb"]');
  });

  it('prints plain objects as maps', () => {
    expect(printEdn({ 'person/name': 'Ada Lovelace', 'person/born': 1815 }, { width: 30 })).toBe(
      '{:person/name "Ada Lovelace",\n :person/born 1815}',
    );
  });
});
