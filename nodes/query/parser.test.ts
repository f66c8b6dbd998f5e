import { describe, expect, it } from 'vitest';
import { readEdn } from '../edn/reader.ts';
import { kw, list, sym } from '../values/values.ts';
import { parseQuery, parseRules } from './parser.ts';
import { expectCode } from './test-support.ts';

const v = (name: string) => ({ kind: 'variable', name });
const c = (value: unknown) => ({ kind: 'constant', value });
const parse = (text: string) => parseQuery(readEdn(text));

describe('find specs', () => {
  const table: [string, unknown][] = [
    ['[:find ?e ?n :where [?e :a ?n]]', { kind: 'find-relation', elements: [{ kind: 'find-variable', variable: v('?e') }, { kind: 'find-variable', variable: v('?n') }] }],
    ['[:find [?e ...] :where [?e :a]]', { kind: 'find-collection', element: { kind: 'find-variable', variable: v('?e') } }],
    ['[:find [?e ?n] :where [?e :a ?n]]', { kind: 'find-tuple', elements: [{ kind: 'find-variable', variable: v('?e') }, { kind: 'find-variable', variable: v('?n') }] }],
    ['[:find ?e . :where [?e :a]]', { kind: 'find-scalar', element: { kind: 'find-variable', variable: v('?e') } }],
    ['[:find (max 3 ?n) :where [?e :a ?n]]', { kind: 'find-relation', elements: [{ kind: 'find-aggregate', name: 'max', constants: [3], variable: v('?n') }] }],
    ['[:find (pull ?e [:a]) :where [?e :a]]', { kind: 'find-relation', elements: [{ kind: 'find-pull', source: '$', variable: v('?e'), pattern: { kind: 'pattern', value: [kw('a')] } }] }],
    ['[:find (pull $d ?e ?p) :in $d ?p :where [$d ?e :a]]', { kind: 'find-relation', elements: [{ kind: 'find-pull', source: '$d', variable: v('?e'), pattern: v('?p') }] }],
  ];
  it.each(table)('%s', (text, find) => expect(parse(text).find).toEqual(find));
});

describe('sections', () => {
  it('reads the map form like the vector form', () => {
    expect(parse('{:find [?e] :in [$ ?n] :where [[?e :a ?n]]}')).toEqual(parse('[:find ?e :in $ ?n :where [?e :a ?n]]'));
  });
  it('accepts JS data with plain objects and keyword strings', () => {
    const data = { find: [sym('?e')], where: [[sym('?e'), 'person/name', 'Ann']] };
    expect(parseQuery(data).where).toEqual([{ kind: 'pattern', source: '$', terms: [v('?e'), c('person/name'), c('Ann')] }]);
  });
  it('defaults :in to $', () => expect(parse('[:find ?e :where [?e :a]]').inputs).toEqual([{ kind: 'in-source', name: '$' }]));
  it('parses :keys, :with', () => {
    const q = parse('[:find ?a ?b :keys x y :with ?e :where [?e :a ?a] [?e :b ?b]]');
    expect(q.returnMap).toEqual({ kind: 'keys', names: ['x', 'y'] });
    expect(q.with).toEqual([v('?e')]);
  });
});

describe('inputs', () => {
  const table: [string, unknown][] = [
    ['$db', { kind: 'in-source', name: '$db' }],
    ['%', { kind: 'in-rules' }],
    ['?x', { kind: 'in-binding', binding: { kind: 'bind-scalar', variable: v('?x') } }],
    ['[?x ?y]', { kind: 'in-binding', binding: { kind: 'bind-tuple', elements: [{ kind: 'bind-scalar', variable: v('?x') }, { kind: 'bind-scalar', variable: v('?y') }] } }],
    ['[?x ...]', { kind: 'in-binding', binding: { kind: 'bind-collection', element: { kind: 'bind-scalar', variable: v('?x') } } }],
    ['[[?x _]]', { kind: 'in-binding', binding: { kind: 'bind-collection', element: { kind: 'bind-tuple', elements: [{ kind: 'bind-scalar', variable: v('?x') }, { kind: 'bind-blank' }] } } }],
  ];
  it.each(table)('%s', (text, input) => expect(parse(`[:find ?x :in ${text} :where [?x :a]]`).inputs).toEqual([input]));
});

describe('clauses', () => {
  const table: [string, unknown][] = [
    ['[?e :a/b "x"]', { kind: 'pattern', source: '$', terms: [v('?e'), c(kw('a/b')), c('x')] }],
    ['[$h ?e _ ?v ?tx false]', { kind: 'pattern', source: '$h', terms: [v('?e'), { kind: 'blank' }, v('?v'), v('?tx'), c(false)] }],
    ['[(< ?a 3)]', { kind: 'predicate', name: '<', args: [v('?a'), c(3)] }],
    ['[(get-else $ ?e :a 0) ?x]', { kind: 'function', name: 'get-else', args: [{ kind: 'source', name: '$' }, v('?e'), c(kw('a')), c(0)], binding: { kind: 'bind-scalar', variable: v('?x') } }],
    ['(not [?e :a])', { kind: 'not', source: '$', variables: null, clauses: [{ kind: 'pattern', source: '$', terms: [v('?e'), c(kw('a'))] }] }],
    ['(not-join [?e] [?e :a ?x])', { kind: 'not', source: '$', variables: [v('?e')], clauses: [{ kind: 'pattern', source: '$', terms: [v('?e'), c(kw('a')), v('?x')] }] }],
    ['(or [?e :a] (and [?e :b] [?e :c]))', { kind: 'or', source: '$', variables: null, branches: [
      [{ kind: 'pattern', source: '$', terms: [v('?e'), c(kw('a'))] }],
      [{ kind: 'pattern', source: '$', terms: [v('?e'), c(kw('b'))] }, { kind: 'pattern', source: '$', terms: [v('?e'), c(kw('c'))] }],
    ] }],
    ['(or-join [[?e] ?x] [?e :a ?x])', { kind: 'or', source: '$', variables: { required: [v('?e')], free: [v('?x')] }, branches: [[{ kind: 'pattern', source: '$', terms: [v('?e'), c(kw('a')), v('?x')] }]] }],
    ['($d follows ?e 3)', { kind: 'rule-call', source: '$d', name: 'follows', args: [v('?e'), c(3)] }],
  ];
  it.each(table)('%s', (text, clause) => {
    const q = parse(`[:find ?e :where [?e :z] ${text}]`);
    expect(q.where[1]).toEqual(clause);
  });
});

describe('rules', () => {
  it('parses heads with required variables and several branches', () => {
    const rules = parseRules(readEdn('[[(r [?a] ?b) [?a :x ?b]] [(r [?a] ?b) [?a :y ?b]]]'));
    expect(rules.get('r')!.length).toBe(2);
    expect(rules.get('r')![0]!.variables).toEqual({ required: [v('?a')], free: [v('?b')] });
  });
  it('refuses branches of different arity', () => expectCode(() => parseRules(readEdn('[[(r ?a) [?a :x]] [(r ?a ?b) [?a :y ?b]]]')), 'query/wrong-arity'));
  it('refuses a rule that is not a vector', () => expectCode(() => parseRules(list(sym('r'))), 'query/syntax'));
});

describe('bad input', () => {
  const table: [string, string][] = [
    ['[:where [?e :a]]', 'query/syntax'],
    ['[:find :where [?e :a]]', 'query/syntax'],
    ['[?e :find ?e]', 'query/syntax'],
    ['[:find ?e :where [?e :a] :where [?e :b]]', 'query/syntax'],
    ['[:find ?x :where [?e :a]]', 'query/unbound-variable'],
    ['[:find ?e :with ?y :where [?e :a]]', 'query/unbound-variable'],
    ['[:find (count) :where [?e :a]]', 'query/syntax'],
    ['[:find (sum ?e 3) :where [?e :a]]', 'query/syntax'],
    ['[:find ?e :where [?e :a foo]]', 'query/syntax'],
    ['[:find ?e :where [?e :a ?b ?c ?d ?f]]', 'query/syntax'],
    ['[:find ?e :where [?e :a] (and [?e :b])]', 'query/syntax'],
    ['[:find ?e :where [?e :a] (not)]', 'query/syntax'],
    ['[:find ?e :where (or [?e :a] [?x :b])]', 'query/invalid-or'],
    ['[:find ?e :where [(f ?e) ?x ?y]]', 'query/syntax'],
    ['[:find ?a ?b :keys x :where [?a :b ?b]]', 'query/wrong-arity'],
    ['[:find ?e :in [?e :x] :where [?e :a]]', 'query/syntax'],
    ['{:find [?e] :where [?e :a] :bogus []}', 'query/syntax'],
  ];
  it.each(table)('%s → %s', (text, code) => expectCode(() => parse(text), code as never));

  it('names the offending form', () => {
    try {
      parse('[:find ?e :where [?e :a foo]]');
    } catch (error) {
      expect((error as Error).message).toContain('foo');
      return;
    }
    throw new Error('no error');
  });
});
