// Parser tests: pattern forms (EDN data and JS data) → the normalised tree.
import { describe, expect, it } from 'vitest';
import { Keyword, kw, list, sym } from '../values/values.ts';
import { parsePattern, type AttributeSpec, type PullPattern } from './pattern.ts';
import { toPattern } from './pattern-input.ts';
import { expectError } from './test-db.ts';

function spec(name: string, more: Partial<AttributeSpec> = {}): AttributeSpec {
  const k = Keyword.of(name);
  const reverse = k.name.startsWith('_');
  const attribute = reverse ? Keyword.of(`${k.ns}/${k.name.slice(1)}`) : k;
  return { kind: 'attribute', attribute, reverse, key: k.fqn, limit: undefined, hasDefault: false, default: undefined, xform: null, nested: null, ...more };
}

function pattern(attributes: AttributeSpec[], wildcard = false): PullPattern {
  return { kind: 'pattern', wildcard, attributes };
}

const table: Array<[string, unknown, PullPattern]> = [
  ['attribute names', [kw('person/name'), kw('person/age')], pattern([spec('person/name'), spec('person/age')])],
  ['JS strings with and without colon', ['person/name', ':person/age'], pattern([spec('person/name'), spec('person/age')])],
  ['wildcard symbol', [sym('*')], pattern([], true)],
  ['wildcard string with attribute', ['*', 'person/name'], pattern([spec('person/name')], true)],
  ['reverse ref', [kw('person/_friend')], pattern([spec('person/_friend')])],
  ['db/id', [kw('db/id')], pattern([spec('db/id')])],
  ['map spec with pattern', [new Map([[kw('person/friend'), [kw('person/name')]]])],
    pattern([spec('person/friend', { nested: { kind: 'subpattern', pattern: pattern([spec('person/name')]) } })])],
  ['JS map spec', [{ 'person/friend': ['person/name'] }],
    pattern([spec('person/friend', { nested: { kind: 'subpattern', pattern: pattern([spec('person/name')]) } })])],
  ['map spec with two entries', [{ 'person/friend': ['*'], 'person/_friend': ['person/name'] }],
    pattern([spec('person/friend', { nested: { kind: 'subpattern', pattern: pattern([], true) } }),
      spec('person/_friend', { nested: { kind: 'subpattern', pattern: pattern([spec('person/name')]) } })])],
  ['bounded recursion', [new Map([[kw('person/friend'), 3]])], pattern([spec('person/friend', { nested: { kind: 'recursion', depth: 3 } })])],
  ['unbounded recursion symbol', [new Map([[kw('person/friend'), sym('...')]])], pattern([spec('person/friend', { nested: { kind: 'recursion', depth: null } })])],
  ['unbounded recursion string', [{ 'person/friend': '...' }], pattern([spec('person/friend', { nested: { kind: 'recursion', depth: null } })])],
  [':as with a string', [[kw('person/name'), kw('as'), 'Name']], pattern([spec('person/name', { key: 'Name' })])],
  [':as with a keyword', [[kw('person/name'), kw('as'), kw('n/name')]], pattern([spec('person/name', { key: 'n/name' })])],
  ['list form of options', [list(kw('person/name'), kw('as'), 'N', kw('default'), 'none')],
    pattern([spec('person/name', { key: 'N', hasDefault: true, default: 'none' })])],
  [':limit n', [[kw('person/friend'), kw('limit'), 2]], pattern([spec('person/friend', { limit: 2 })])],
  [':limit nil', [['person/friend', 'limit', null]], pattern([spec('person/friend', { limit: null })])],
  [':default', [['person/age', ':default', 0]], pattern([spec('person/age', { hasDefault: true, default: 0 })])],
  [':default nil', [['person/age', ':default', null]], pattern([spec('person/age', { hasDefault: true, default: null })])],
  ['legacy limit', [list(sym('limit'), kw('person/friend'), 4)], pattern([spec('person/friend', { limit: 4 })])],
  ['legacy limit nil', [list(sym('limit'), kw('person/friend'), null)], pattern([spec('person/friend', { limit: null })])],
  ['legacy default', [list(sym('default'), kw('person/age'), 7)], pattern([spec('person/age', { hasDefault: true, default: 7 })])],
  ['legacy default as vector with string head', [['default', 'person/age', 7]], pattern([spec('person/age', { hasDefault: true, default: 7 })])],
  ['options in a map spec key', [new Map([[[kw('person/friend'), kw('limit'), 1], [kw('person/name')]]])],
    pattern([spec('person/friend', { limit: 1, nested: { kind: 'subpattern', pattern: pattern([spec('person/name')]) } })])],
  ['legacy form as map spec key', [new Map([[list(sym('limit'), kw('person/friend'), 1), 2]])],
    pattern([spec('person/friend', { limit: 1, nested: { kind: 'recursion', depth: 2 } })])],
  ['reverse with alias', [[kw('person/_friend'), kw('as'), 'fans']], pattern([spec('person/_friend', { key: 'fans' })])],
  ['un-namespaced attribute', [kw('name')], pattern([spec('name')])],
  ['recursion inside a nested pattern', [new Map([[kw('a/b'), [new Map([[kw('a/c'), 1]])]]])],
    pattern([spec('a/b', { nested: { kind: 'subpattern', pattern: pattern([spec('a/c', { nested: { kind: 'recursion', depth: 1 } })]) } })])],
];

describe('pull pattern parser', () => {
  it.each(table)('%s', (_name, form, expected) => {
    expect(parsePattern(form)).toEqual(expected);
  });

  it('parses :xform into a named function', () => {
    const parsed = parsePattern([[kw('person/name'), kw('xform'), sym('clojure.string/upper-case')]]);
    const xform = parsed.attributes[0]!.xform!;
    expect(xform.name).toBe('clojure.string/upper-case');
    expect(xform.apply('ann')).toBe('ANN');
  });

  it('accepts an unqualified built-in xform and a JS function', () => {
    expect(parsePattern([['person/age', 'xform', sym('inc')]]).attributes[0]!.xform!.apply(1)).toBe(2);
    const double = (v: unknown) => (v as number) * 2;
    expect(parsePattern([['person/age', 'xform', double]]).attributes[0]!.xform!.apply(4)).toBe(8);
  });

  it('caches by the identity of the pattern data', () => {
    const form = [kw('person/name')];
    expect(parsePattern(form)).toBe(parsePattern(form));
  });

  it('returns frozen trees', () => {
    const parsed = parsePattern([kw('person/name'), { 'person/friend': [kw('person/name')] }]);
    expect(Object.isFrozen(parsed)).toBe(true);
    expect(Object.isFrozen(parsed.attributes[1])).toBe(true);
  });

});

const bad: Array<[string, unknown, string]> = [
  ['not a vector', kw('person/name'), 'pull/syntax'],
  ['a list at top level', list(kw('person/name')), 'pull/syntax'],
  ['a number in a pattern', [42], 'pull/syntax'],
  ['an empty string', [''], 'pull/syntax'],
  ['an empty map spec', [new Map()], 'pull/syntax'],
  ['a map spec value that is not a pattern', [new Map([[kw('person/friend'), kw('person/name')]])], 'pull/syntax'],
  ['zero recursion', [new Map([[kw('person/friend'), 0]])], 'pull/invalid-recursion'],
  ['negative recursion', [{ 'person/friend': -2 }], 'pull/invalid-recursion'],
  ['fractional recursion', [{ 'person/friend': 1.5 }], 'pull/invalid-recursion'],
  ['options without a value', [[kw('person/name'), kw('as')]], 'pull/syntax'],
  ['attribute expression with no options', [[kw('person/name')]], 'pull/syntax'],
  ['unknown option', [[kw('person/name'), kw('rename'), 'x']], 'pull/invalid-option'],
  ['repeated option', [[kw('person/name'), kw('as'), 'x', kw('as'), 'y']], 'pull/invalid-option'],
  ['limit zero', [[kw('person/friend'), kw('limit'), 0]], 'pull/invalid-option'],
  ['limit text', [[kw('person/friend'), kw('limit'), 'ten']], 'pull/invalid-option'],
  ['alias that is a map', [[kw('person/name'), kw('as'), {}]], 'pull/invalid-option'],
  ['legacy limit with too many parts', [list(sym('limit'), kw('person/friend'), 1, 2)], 'pull/syntax'],
  ['legacy limit of a non-number', [list(sym('limit'), kw('person/friend'), 'x')], 'pull/invalid-option'],
  ['unknown xform', [[kw('person/name'), kw('xform'), sym('no.such/fn')]], 'pull/invalid-xform'],
  ['xform that is a number', [[kw('person/name'), kw('xform'), 7]], 'pull/invalid-xform'],
  ['attribute name that is a number inside options', [[7, kw('as'), 'x']], 'pull/syntax'],
];

describe('bad pull patterns', () => {
  it.each(bad)('%s', (_name, form, code) => {
    const error = expectError(() => parsePattern(form), code as never) as Error & { data: Record<string, unknown> };
    expect(error.data.form ?? error.data.pattern).toBeDefined();
  });

  it('names the offending form in the message', () => {
    const error = expectError(() => parsePattern([kw('a/b'), [kw('person/name'), kw('limit'), -1]]), 'pull/invalid-option');
    expect(error.message).toContain('[:person/name :limit -1]');
    expect(error.message).toContain('-1');
  });
});

const text: Array<[string, string, PullPattern]> = [
  ['attribute names', '[:artist/name :artist/gid]', pattern([spec('artist/name'), spec('artist/gid')])],
  ['wildcard', '[*]', pattern([], true)],
  ['reverse', '[:release/_artists]', pattern([spec('release/_artists')])],
  ['list options', '[:artist/name (:artist/startYear :as "Year")]', pattern([spec('artist/name'), spec('artist/startYear', { key: 'Year' })])],
  ['vector options', '[[:artist/name :as "Name"] [:artist/endYear :default 0]]',
    pattern([spec('artist/name', { key: 'Name' }), spec('artist/endYear', { hasDefault: true, default: 0 })])],
  ['legacy limit on a reverse ref', '[(limit :track/_artists 10)]', pattern([spec('track/_artists', { limit: 10 })])],
  ['legacy default', '[(default :artist/endYear 0)]', pattern([spec('artist/endYear', { hasDefault: true, default: 0 })])],
  ['nested', '[:release/name {:release/artists [:artist/name]}]',
    pattern([spec('release/name'), spec('release/artists', { nested: { kind: 'subpattern', pattern: pattern([spec('artist/name')]) } })])],
  ['unbounded recursion', '[:person/name {:person/friend ...}]', pattern([spec('person/name'), spec('person/friend', { nested: { kind: 'recursion', depth: null } })])],
  ['bounded recursion', '[{:person/friend 6}]', pattern([spec('person/friend', { nested: { kind: 'recursion', depth: 6 } })])],
  ['limit nil in a map key', '[{[:track/_artists :limit nil] [:track/name]}]',
    pattern([spec('track/_artists', { limit: null, nested: { kind: 'subpattern', pattern: pattern([spec('track/name')]) } })])],
];

describe('pull patterns as EDN text', () => {
  it.each(text)('%s', (_name, source, expected) => {
    expect(toPattern(source)).toEqual(expected);
  });

  it('caches by text', () => {
    expect(toPattern('[:a/b]')).toBe(toPattern('[:a/b]'));
  });

  it('reads :xform symbols', () => {
    expect(toPattern('[[:a/b :xform clojure.string/upper-case]]').attributes[0]!.xform!.apply('x')).toBe('X');
  });

  it('reports bad text with the reader\'s code and bad patterns with pull codes', () => {
    expectError(() => toPattern('[:a/b'), 'edn/syntax');
    expectError(() => toPattern(':a/b'), 'pull/syntax');
    expectError(() => toPattern('[{:a/b 0}]'), 'pull/invalid-recursion');
  });
});
