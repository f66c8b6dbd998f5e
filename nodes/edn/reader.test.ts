import { describe, expect, it } from 'vitest';
import { FactumError } from '../util/errors.ts';
import { BigDec, List, Tagged, Uri, Uuid, kw, list, sym } from '../values/values.ts';
import { ednEqual } from './edn-equal.ts';
import { readAllEdn, readEdn } from './reader.ts';

const uuid = (text: string): Uuid => Uuid.parse(text)!;

/** Input text → the value it reads as (compared with ednEqual: 1 ≠ 1N, 0 ≠ -0, NaN = NaN). */
const readsAs: [string, unknown][] = [
  // nil, booleans
  ['nil', null],
  ['true', true],
  ['false', false],
  // integers
  ['0', 0],
  ['42', 42],
  ['-17', -17],
  ['+5', 5],
  ['-0', 0],
  ['9007199254740991', 9007199254740991],
  ['-9007199254740991', -9007199254740991],
  ['9007199254740992', 9007199254740992n],
  ['123456789012345678901234567890', 123456789012345678901234567890n],
  ['-123456789012345678901234567890', -123456789012345678901234567890n],
  ['0000000000000001N'.slice(15), 1n],
  ['42N', 42n],
  ['-0N', 0n],
  // floats
  ['1.5', 1.5],
  ['-2.25', -2.25],
  ['1.0', 1],
  ['-0.0', -0],
  ['1.', 1],
  ['1e3', 1000],
  ['1E3', 1000],
  ['1.5e-3', 0.0015],
  ['1e+21', 1e21],
  ['100000000000000000000.0', 1e20],
  ['1e400', Infinity],
  ['##Inf', Infinity],
  ['##-Inf', -Infinity],
  ['##NaN', NaN],
  // BigDec
  ['1.5M', new BigDec(15n, 1)],
  ['1.50M', new BigDec(150n, 2)],
  ['-0.001M', new BigDec(-1n, 3)],
  ['7M', new BigDec(7n, 0)],
  ['1.5e2M', new BigDec(150n, 0)],
  ['1e-2M', new BigDec(1n, 2)],
  // strings
  ['""', ''],
  ['"hello"', 'hello'],
  ['"a\\tb\\nc\\rd\\\\e\\"f\\bg\\fh"', 'a\tb\nc\rd\\e"f\bg\fh'],
  ['"\\u00e9\\u00E9"', 'éé'],
  ['"\\ud83d\\ude00"', '😀'],
  ['"\\ud800"', '\ud800'],
  ['"multi\nline"', 'multi\nline'],
  ['"😀 ünïcödé"', '😀 ünïcödé'],
  // characters
  ['\\a', 'a'],
  ['\\newline', '\n'],
  ['\\space', ' '],
  ['\\tab', '\t'],
  ['\\return', '\r'],
  ['\\backspace', '\b'],
  ['\\formfeed', '\f'],
  ['\\u00e9', 'é'],
  ['\\u', 'u'],
  ['\\o101', 'A'],
  ['\\(', '('],
  ['\\\\', '\\'],
  ['\\😀', '😀'],
  ['[\\a\\b]', ['a', 'b']],
  // keywords
  [':a', kw('a')],
  [':person/name', kw('person/name')],
  [':db.type/string', kw('db.type/string')],
  [':db/valueType', kw('db/valueType')],
  [':nil', kw('nil')],
  [':1st', kw('1st')],
  [':a-b?*!', kw('a-b?*!')],
  [':名前', kw('名前')],
  // symbols
  ['?x', sym('?x')],
  ['_', sym('_')],
  ['...', sym('...')],
  ['$', sym('$')],
  ['$db', sym('$db')],
  ['%', sym('%')],
  ['/', sym('/')],
  ['+', sym('+')],
  ['-', sym('-')],
  ['-foo', sym('-foo')],
  ['+.x', sym('+.x')],
  ['clojure.core/+', sym('clojure.core/+')],
  ['<=', sym('<=')],
  ['!=', sym('!=')],
  ['a#b', sym('a#b')],
  ["a'", sym("a'")],
  ['nilly', sym('nilly')],
  ['truex', sym('truex')],
  // collections
  ['()', list()],
  ['(a 1)', list(sym('a'), 1)],
  ['[]', []],
  ['[1 [2 [3]]]', [1, [2, [3]]]],
  ['{}', new Map()],
  ['{:a 1, :b 2}', new Map([[kw('a'), 1], [kw('b'), 2]])],
  ['{[1 2] :x [1 3] :y}', new Map([[[1, 2], kw('x')], [[1, 3], kw('y')]])],
  ['{1 :int 1N :bigint}', new Map<unknown, unknown>([[1, kw('int')], [1n, kw('bigint')]])],
  ['#{}', new Set()],
  ['#{1 "1" :1}', new Set([1, '1', kw('1')])],
  ['#{[1] [2]}', new Set([[1], [2]])],
  ['[1 (2 #{3}) {4 [5]}]', [1, list(2, new Set([3])), new Map([[4, [5]]])]],
  // tagged literals
  ['#inst "2020-01-31T10:15:30.123Z"', new Date(Date.UTC(2020, 0, 31, 10, 15, 30, 123))],
  ['#inst "2020-01-31T10:15:30.123-00:00"', new Date(Date.UTC(2020, 0, 31, 10, 15, 30, 123))],
  ['#inst "2020-01-31T12:15:30+02:00"', new Date(Date.UTC(2020, 0, 31, 10, 15, 30))],
  ['#inst "2020-01-31T10:15:30.1234567Z"', new Date(Date.UTC(2020, 0, 31, 10, 15, 30, 123))],
  ['#inst "2020-01-31T10:15:30.5Z"', new Date(Date.UTC(2020, 0, 31, 10, 15, 30, 500))],
  ['#inst "2013-02-01"', new Date(Date.UTC(2013, 1, 1))],
  ['#inst "2020"', new Date(Date.UTC(2020, 0, 1))],
  ['#inst "2020-02-29T23:59:59Z"', new Date(Date.UTC(2020, 1, 29, 23, 59, 59))],
  ['#inst "0001-01-01T00:00:00Z"', new Date(-62135596800000)],
  ['#inst "+275760-09-13T00:00:00.000Z"', new Date(8.64e15)],
  ['#inst "-271821-04-20T00:00:00.000Z"', new Date(-8.64e15)],
  ['#uuid "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"', uuid('f81d4fae-7dec-11d0-a765-00a0c91e6bf6')],
  ['#uuid "F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6"', uuid('f81d4fae-7dec-11d0-a765-00a0c91e6bf6')],
  ['#factum/uri "https://example.com/x"', new Uri('https://example.com/x')],
  ['#factum/bytes ""', new Uint8Array(0)],
  ['#factum/bytes "aGVsbG8="', new TextEncoder().encode('hello')],
  ['#factum/bytes "aGk="', new TextEncoder().encode('hi')],
  ['#factum/bytes "AP+A"', new Uint8Array([0, 255, 128])],
  ['#my/tag [1 2]', new Tagged('my/tag', [1, 2])],
  ['#point {:x 1}', new Tagged('point', new Map([[kw('x'), 1]]))],
  ['#a #b 1', new Tagged('a', new Tagged('b', 1))],
  ['#inst\n  "2020-01-01"', new Date(Date.UTC(2020, 0, 1))],
  // whitespace, commas, comments, discard
  ['  ,,\t\n 1 ,', 1],
  ['\ufeff[1]', [1]],
  ['; comment\n[1 ; inside\n 2]', [1, 2]],
  ['[1 #_ 2 3]', [1, 3]],
  ['[1 #_ #_ 2 3 4]', [1, 4]],
  ['#_ ignored kept', sym('kept')],
  ['{:a #_ :b 1}', new Map([[kw('a'), 1]])],
  ['[#_ [1 2 (3)] 4]', [4]],
  ['#tag #_ x y', new Tagged('tag', sym('y'))],
  ['[1]; trailing comment', [1]],
  // delimiters end tokens
  ['[a"b"]', [sym('a'), 'b']],
  ['[:a[1]]', [kw('a'), [1]]],
  ['(1(2)3)', list(1, list(2), 3)],
  // a Datomic query
  [
    '[:find ?e ?name :in $ ?age :where [?e :person/age ?age] [?e :person/name ?name]]',
    [
      kw('find'), sym('?e'), sym('?name'), kw('in'), sym('$'), sym('?age'), kw('where'),
      [sym('?e'), kw('person/age'), sym('?age')],
      [sym('?e'), kw('person/name'), sym('?name')],
    ],
  ],
];

describe('readEdn', () => {
  it.each(readsAs)('reads %s', (text, expected) => {
    const value = readEdn(text);
    expect(ednEqual(value, expected), `read ${JSON.stringify(text)}`).toBe(true);
  });

  it('returns lists as List and vectors as arrays', () => {
    expect(readEdn('(1)')).toBeInstanceOf(List);
    expect(Array.isArray(readEdn('[1]'))).toBe(true);
  });

  it('interns keywords and symbols', () => {
    expect(readEdn(':a/b')).toBe(kw('a/b'));
    expect(readEdn('?x')).toBe(sym('?x'));
  });

  it('reads many distinct keywords correctly through its keyword cache', () => {
    const names = Array.from({ length: 5000 }, (_, i) => `ns${i % 7}/name-${i}`);
    const text = '[' + [...names, ...names].map((name) => ':' + name).join(' ') + ']';
    const back = readEdn(text) as unknown[];
    expect(back.every((k, i) => k === kw(names[i % names.length]!))).toBe(true);
  });

  it('still rejects an invalid keyword after reading valid ones that share its slot', () => {
    readEdn('[:a :b :c]');
    expect(() => readEdn(':a@')).toThrow(expect.objectContaining({ code: 'edn/syntax' }));
  });

  it('reads nesting deeper than the call stack could hold', () => {
    const depth = 100_000;
    let value = readEdn('['.repeat(depth) + ']'.repeat(depth));
    let levels = 0;
    while (Array.isArray(value) && value.length === 1) {
      value = value[0];
      levels++;
    }
    expect(levels).toBe(depth - 1);
  });
});

describe('readAllEdn', () => {
  it('reads every form', () => {
    expect(ednEqual(readAllEdn('1 :a "s" [2] #_ 3 ; c\n (4)'), [1, kw('a'), 's', [2], list(4)])).toBe(true);
  });
  it('reads nothing from blank text', () => {
    expect(readAllEdn('')).toEqual([]);
    expect(readAllEdn(' ; only a comment\n , #_ x')).toEqual([]);
  });
});

/** Input text → error code, line, column and a fragment the message must hold. */
const failsWith: [string, string, number, number, string][] = [
  ['', 'edn/syntax', 1, 1, 'expected a form, found end of input'],
  ['  ; nothing', 'edn/syntax', 1, 12, 'expected a form'],
  ['1 2', 'edn/syntax', 1, 3, "expected end of input after the form, found '2'"],
  ['[1 2', 'edn/syntax', 1, 5, "expected ']' to close the vector opened at 1:1, found end of input"],
  ['[:find ?e\n :where (foo]', 'edn/syntax', 2, 13, "expected ')' to close the list opened at 2:9, found ']'"],
  ['{:a 1', 'edn/syntax', 1, 6, "expected '}' to close the map opened at 1:1"],
  ['#{1 2', 'edn/syntax', 1, 6, "expected '}' to close the set opened at 1:1"],
  ['(1 2]', 'edn/syntax', 1, 5, "expected ')' to close the list opened at 1:1, found ']'"],
  [']', 'edn/syntax', 1, 1, "unexpected ']' with no collection open"],
  ['[1] )', 'edn/syntax', 1, 5, "unexpected ')'"],
  ['{:a}', 'edn/syntax', 1, 1, 'a map needs an even number of forms'],
  ['{:a 1 :a 2}', 'edn/syntax', 1, 1, 'duplicate key :a in the map opened at 1:1'],
  ['[{[1] 1 [1] 2}]', 'edn/syntax', 1, 2, 'duplicate key a vector of 1'],
  ['#{1 1}', 'edn/syntax', 1, 1, 'duplicate element 1 in the set opened at 1:1'],
  ['{1 :int 1.0 :float}', 'edn/syntax', 1, 1, 'duplicate key 1'],
  ['#{:a :b :a}', 'edn/syntax', 1, 1, 'duplicate element :a'],
  ['#{"a" "a"}', 'edn/syntax', 1, 1, 'duplicate element "a"'],
  ['#{#{} #{}}', 'edn/syntax', 1, 1, 'duplicate element'],
  ['"abc', 'edn/syntax', 1, 5, "expected '\"' to close the string opened at 1:1"],
  ['"a\\qb"', 'edn/syntax', 1, 3, 'unknown escape \\q in a string'],
  ['"\\u12"', 'edn/syntax', 1, 2, 'invalid unicode escape'],
  ['"\\u12G4"', 'edn/syntax', 1, 2, 'invalid unicode escape \\u12G4'],
  ['\\', 'edn/syntax', 1, 1, 'expected a character after \\'],
  ['[\\ ]', 'edn/syntax', 1, 2, 'expected a character after \\'],
  ['\\foo', 'edn/syntax', 1, 1, 'unknown character \\foo'],
  ['\\u00zz', 'edn/syntax', 1, 1, 'invalid unicode escape'],
  ['01', 'edn/syntax', 1, 1, 'leading zeros'],
  ['-007', 'edn/syntax', 1, 1, 'leading zeros'],
  ['1.5N', 'edn/syntax', 1, 1, "invalid number 1.5N: unexpected 'N'"],
  ['1e', 'edn/syntax', 1, 1, 'an exponent needs digits'],
  ['12abc', 'edn/syntax', 1, 1, "invalid number 12abc: unexpected 'a'"],
  ['0x1F', 'edn/syntax', 1, 1, 'invalid number 0x1F'],
  ['1.5.5', 'edn/syntax', 1, 1, 'invalid number'],
  ['1/2', 'edn/unsupported', 1, 1, 'ratio 1/2'],
  ['.5', 'edn/syntax', 1, 1, 'invalid symbol .5'],
  ['a/b/c', 'edn/syntax', 1, 1, "only one '/'"],
  ['a/', 'edn/syntax', 1, 1, "'/' must separate"],
  ['/a', 'edn/syntax', 1, 1, "'/' must separate"],
  ['foo@bar', 'edn/syntax', 1, 1, "'@' is not allowed in a name"],
  ["'[1]", 'edn/syntax', 1, 1, "a name cannot start with '''"],
  ['a:', 'edn/syntax', 1, 1, "':' may not end"],
  [':', 'edn/syntax', 1, 1, 'a name cannot be empty'],
  [': a', 'edn/syntax', 1, 1, 'invalid keyword'],
  ['::a', 'edn/unsupported', 1, 1, 'auto-resolved'],
  [':a/b/c', 'edn/syntax', 1, 1, "only one '/'"],
  ['##Foo', 'edn/syntax', 1, 1, 'unknown symbolic value ##Foo'],
  ['#"re"', 'edn/unsupported', 1, 1, 'regular expressions'],
  ['#(inc %)', 'edn/unsupported', 1, 1, 'anonymous functions'],
  ['#:a{:b 1}', 'edn/unsupported', 1, 1, 'namespaced maps'],
  ['#?(:clj 1)', 'edn/unsupported', 1, 1, 'reader conditionals'],
  ['#1', 'edn/syntax', 1, 1, "expected '{', '_', '#' or a tag (starting with a letter) after '#'"],
  ['#', 'edn/syntax', 1, 1, "expected '{', '_', '#' or a tag"],
  ['#*x 1', 'edn/syntax', 1, 1, "expected '{', '_', '#' or a tag"],
  ['[#_]', 'edn/syntax', 1, 4, "expected a form after #_ at 1:2, found ']'"],
  ['#_', 'edn/syntax', 1, 3, 'expected a form after #_ at 1:1, found end of input'],
  ['#foo', 'edn/syntax', 1, 5, 'expected a form after #foo at 1:1'],
  ['[#foo]', 'edn/syntax', 1, 6, 'expected a form after #foo'],
  ['#a/b/c 1', 'edn/syntax', 1, 2, 'invalid tag #a/b/c'],
  ['#inst 1', 'edn/syntax', 1, 1, '#inst must be followed by a string, found 1'],
  ['#inst "2021-02-29"', 'edn/syntax', 1, 1, 'day 29 is not in 1-28'],
  ['#inst "2020-13-01"', 'edn/syntax', 1, 1, 'month 13 is not in 1-12'],
  ['#inst "2020-01-01T24:00:00Z"', 'edn/syntax', 1, 1, 'hour 24'],
  ['#inst "2020-01-01T10:60:00Z"', 'edn/syntax', 1, 1, 'minute 60'],
  ['#inst "2020-01-01T10:00:60Z"', 'edn/syntax', 1, 1, 'second 60'],
  ['#inst "2020-01-01T10:00:00+24:00"', 'edn/syntax', 1, 1, 'offset +24:00'],
  ['#inst "yesterday"', 'edn/syntax', 1, 1, 'expected an RFC 3339 timestamp'],
  ['#inst "2020-01-01 10:00"', 'edn/syntax', 1, 1, 'invalid #inst'],
  ['#inst "+275760-09-13T00:00:00.001Z"', 'edn/syntax', 1, 1, 'outside the range of a Date'],
  ['[1\n  #uuid "not-a-uuid"]', 'edn/syntax', 2, 3, 'invalid #uuid "not-a-uuid"'],
  ['#uuid :x', 'edn/syntax', 1, 1, '#uuid must be followed by a string, found :x'],
  ['#factum/uri 1', 'edn/syntax', 1, 1, '#factum/uri must be followed by a string'],
  ['#factum/bytes "abc"', 'edn/syntax', 1, 1, 'invalid #factum/bytes "abc"'],
  ['#factum/bytes "ab!="', 'edn/syntax', 1, 1, 'invalid #factum/bytes'],
  ['#factum/bytes "aGk=aGk="', 'edn/syntax', 1, 1, 'invalid #factum/bytes'],
  ['#factum/bytes "aGl="', 'edn/syntax', 1, 1, 'invalid #factum/bytes'],
  ['\n\n   [1 2 3\n', 'edn/syntax', 4, 1, "expected ']' to close the vector opened at 3:4"],
];

describe('malformed EDN', () => {
  it.each(failsWith)('%j fails with %s at %i:%i', (text, code, line, column, fragment) => {
    let thrown: unknown;
    try {
      readEdn(text);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(FactumError);
    const error = thrown as FactumError;
    expect(error.code).toBe(code);
    expect(error.data).toMatchObject({ line, column });
    expect(error.message).toContain(`at ${line}:${column}:`);
    expect(error.message).toContain(fragment);
    expect(typeof error.data.text).toBe('string');
    expect(typeof error.data.expected).toBe('string');
  });

  it('names the offending text in data', () => {
    expect(() => readEdn('[1 2)')).toThrow(expect.objectContaining({ data: expect.objectContaining({ text: "')'", expected: "']'" }) }));
  });

  it('fails in readAllEdn too', () => {
    expect(() => readAllEdn('1 2 )')).toThrow(expect.objectContaining({ code: 'edn/syntax' }));
  });
});
