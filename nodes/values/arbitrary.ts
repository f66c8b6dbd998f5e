//! fast-check generators of values (every kind in values.ts, nested), for property tests anywhere
//! in factum: `fc.assert(fc.property(arbitraryValue(), (v) => ...))`.
//!
//! Generated values are ones EDN can carry: keyword and symbol names follow EDN's rules, tags are
//! not the ones the reader interprets, map keys and set elements are distinct by `ednEqual`, and
//! BigDec scales are not negative (EDN text has no way to write a negative scale).
import fc from 'fast-check';
import { ednEqual } from '../edn/edn-equal.ts';
import { BigDec, Keyword, List, Sym, Tagged, Uri, Uuid } from './values.ts';

const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const nameStart = fc.constantFrom(...(letters + '*!_?$%&=<>').split(''), 'é', '名');
const nameRest = fc.string({ unit: fc.constantFrom(...(letters + '0123456789*!_?$%&=<>+-.#\'').split(''), 'ö', '😀'), maxLength: 8 });
const namePart = fc.tuple(nameStart, nameRest).map(([first, rest]) => first + rest);

/** `name` or `ns/name`, valid for symbols and keywords. */
const qualifiedName = fc.tuple(fc.option(namePart, { nil: null }), namePart).map(([ns, name]) => (ns === null ? name : ns + '/' + name));

/** Names that Datomic's own syntax relies on. */
const specialSymbols = ['+', '-', '...', '/', '.', '?x', '?e', '_', '$', '%', '$db', 'clojure.core/+', '-foo', '+x', '<=', '!='];

export const arbitraryKeyword: fc.Arbitrary<Keyword> = fc
  .oneof(qualifiedName, fc.constantFrom('nil', 'true', 'db/id', 'db.type/string', '1st', 'a/1b'))
  .map((name) => Keyword.of(name));

export const arbitrarySymbol: fc.Arbitrary<Sym> = fc
  .oneof(qualifiedName.filter((name) => name !== 'nil' && name !== 'true' && name !== 'false'), fc.constantFrom(...specialSymbols))
  .map((name) => Sym.of(name));

const reservedTags = new Set(['inst', 'uuid', 'factum/uri', 'factum/bytes']);
const tagPart = fc.tuple(fc.constantFrom(...letters.split('')), nameRest).map(([first, rest]) => first + rest);
const arbitraryTag = fc
  .tuple(fc.option(tagPart, { nil: null }), tagPart)
  .map(([ns, name]) => (ns === null ? name : ns + '/' + name))
  .filter((tag) => !reservedTags.has(tag));

/** Strings of every kind: ASCII-heavy, any code point, and any UTF-16 code units (lone surrogates). */
export const arbitraryString: fc.Arbitrary<string> = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }),
  fc.constantFrom('', '"', '\\', '\n\t\r\b\f', '\u0000\u007f', '\ufeffbom'),
);

export const arbitraryNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: -300, max: 300 }),
  fc.maxSafeInteger(),
  fc.double(),
  fc.constantFrom(0, -0, NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 53), 1e20, 1e21, 5e-324, Number.MAX_VALUE),
);

export const arbitraryBigint: fc.Arbitrary<bigint> = fc.oneof(
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
  fc.bigInt(),
  fc.constantFrom(0n, 1n, -1n, 2n ** 53n, -(2n ** 53n) - 1n),
);

export const arbitraryBigDec: fc.Arbitrary<BigDec> = fc
  .tuple(fc.oneof(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.bigInt()), fc.nat({ max: 40 }))
  .map(([unscaled, scale]) => new BigDec(unscaled, scale));

/** Every non-collection value of values.ts. */
export const arbitraryScalar: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false),
  arbitraryNumber,
  arbitraryBigint,
  arbitraryBigDec,
  arbitraryString,
  arbitraryKeyword,
  arbitrarySymbol,
  fc.date({ noInvalidDate: true }),
  fc.uuid().map((text) => Uuid.parse(text)!),
  fc.oneof(fc.webUrl(), fc.string()).map((text) => new Uri(text)),
  fc.uint8Array({ maxLength: 40 }),
);

export interface ArbitraryValueOptions {
  /** How deep collections nest. @default - 3 */
  readonly depthMax?: number;
  /** Include plain JS objects (the codec carries them; EDN prints them as maps). @default - false */
  readonly plainObjects?: boolean;
}

/** Any value: scalars, vectors, lists, maps, sets and tagged values, nested. */
export function arbitraryValue(options: ArbitraryValueOptions = {}): fc.Arbitrary<unknown> {
  const depthMax = options.depthMax ?? 3;
  return fc.letrec<{ value: unknown }>((tie) => {
    const value = tie('value');
    const collections: fc.Arbitrary<unknown>[] = [
      fc.array(value, { maxLength: 5 }),
      fc.array(value, { maxLength: 5 }).map((items) => new List(items)),
      fc.uniqueArray(fc.tuple(value, value), { comparator: (a, b) => ednEqual(a[0], b[0]), maxLength: 5 }).map((entries) => new Map(entries)),
      fc.uniqueArray(value, { comparator: ednEqual, maxLength: 5 }).map((items) => new Set(items)),
      fc.tuple(arbitraryTag, value).map(([tag, inner]) => new Tagged(tag, inner)),
    ];
    if (options.plainObjects === true) collections.push(fc.dictionary(arbitraryString, value, { maxKeys: 5 }));
    return { value: fc.oneof({ depthSize: 'small', maxDepth: depthMax }, arbitraryScalar, ...collections) };
  }).value;
}
