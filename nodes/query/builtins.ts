//! Built-in query functions and predicates: Datomic's (`get-else`, `get-some`, `missing?`,
//! `ground`, `tuple`, `untuple`, `q`, ...) and the helpers users expect from Clojure's core and
//! clojure.string. Functions take evaluated arguments (a `$` argument arrives as its source).
//!
//! Truthiness is Clojure's: only nil (null/undefined) and false are false.
//! Arithmetic follows Datomic on longs: `/` of two integers is integer division (quot).
import type { Database } from '../db/database.ts';
import { fail } from '../util/errors.ts';
import { compareValues, valuesEqual } from '../values/compare.ts';
import { Keyword, List, Sym } from '../values/values.ts';
import { resolveEntity } from './pattern.ts';
import { isDatabase } from './scope.ts';
import { show } from './show.ts';

export type QueryFunction = (...args: unknown[]) => unknown;

export function truthy(x: unknown): boolean {
  return x !== null && x !== undefined && x !== false;
}

function arity(name: string, args: readonly unknown[], min: number, max = min): void {
  if (args.length < min || args.length > max) {
    const expected = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
    fail('query/wrong-arity', `${name} takes ${expected} arguments, got ${args.length}: ${show(args)}.`, { function: name, args });
  }
}

function expectNumber(name: string, x: unknown): number | bigint {
  if (typeof x === 'number' || typeof x === 'bigint') return x;
  return fail('query/function-failed', `${name} expects numbers, got ${show(x)}.`, { function: name, value: x });
}

function expectString(name: string, x: unknown): string {
  if (typeof x === 'string') return x;
  return fail('query/function-failed', `${name} expects a string, got ${show(x)}.`, { function: name, value: x });
}

/** Adds numbers; bigints stay exact when every operand is an integer. */
function arithmetic(name: string, op: (a: number, b: number) => number, bigOp: (a: bigint, b: bigint) => bigint) {
  return (...args: unknown[]): unknown => {
    const values = args.map((x) => expectNumber(name, x));
    if (values.some((v) => typeof v === 'bigint') && values.every((v) => typeof v === 'bigint' || Number.isInteger(v))) {
      return values.map((v) => BigInt(v)).reduce((a, b) => bigOp(a, b));
    }
    return values.map(Number).reduce((a, b) => op(a, b));
  };
}

function comparison(name: string, test: (c: number) => boolean): QueryFunction {
  return (...args) => {
    arity(name, args, 2);
    return test(compareValues(args[0], args[1]));
  };
}

/** `str` of one value, as Clojure prints it. */
export function strOf(x: unknown): string {
  if (x === null || x === undefined) return '';
  if (typeof x === 'string') return x;
  if (x instanceof Keyword) return ':' + x.fqn;
  if (x instanceof Date) return x.toISOString();
  if (typeof x === 'object') return show(x);
  return String(x);
}

function countOf(x: unknown): number {
  if (x === null || x === undefined) return 0;
  if (typeof x === 'string' || Array.isArray(x)) return x.length;
  if (x instanceof List) return x.items.length;
  if (x instanceof Set || x instanceof Map) return x.size;
  return fail('query/function-failed', `count expects a string or a collection, got ${show(x)}.`, { value: x });
}

function items(x: unknown): readonly unknown[] {
  if (Array.isArray(x)) return x;
  if (x instanceof List) return x.items;
  if (x instanceof Set) return [...x];
  if (typeof x === 'string') return [...x];
  if (x === null || x === undefined) return [];
  return fail('query/function-failed', `Expected a collection, got ${show(x)}.`, { value: x });
}

function regex(x: unknown): RegExp {
  if (x instanceof RegExp) return x;
  if (typeof x === 'string') return new RegExp(x);
  return fail('query/function-failed', `Expected a regular expression (re-pattern "...") or a string, got ${show(x)}.`, { value: x });
}

function reResult(m: RegExpExecArray | RegExpMatchArray | null): unknown {
  if (m === null) return null;
  return m.length === 1 ? m[0] : [...m].map((g) => g ?? null);
}

function database(name: string, x: unknown): Database {
  if (isDatabase(x)) return x;
  return fail('query/function-failed', `${name} expects a db value ($) as its first argument, got ${show(x)}.`, { function: name, value: x });
}

function attributeOf(name: string, db: Database, x: unknown) {
  const ref = typeof x === 'string' ? Keyword.of(x) : x;
  const attribute = typeof ref === 'number' || ref instanceof Keyword ? db.attribute(ref) : undefined;
  if (attribute === undefined) fail('query/unknown-attribute', `${name}: unknown attribute ${show(x)}.`, { function: name, attribute: x });
  return attribute;
}

function firstValue(db: Database, e: unknown, attributeId: number): unknown {
  const id = resolveEntity(db, e);
  if (id === null) return undefined;
  for (const datom of db.datoms('eavt', id, attributeId)) return datom.v;
  return undefined;
}

function getElse(...args: unknown[]): unknown {
  arity('get-else', args, 4);
  const db = database('get-else', args[0]);
  const attribute = attributeOf('get-else', db, args[2]);
  if (attribute.cardinality === 'many') {
    fail('query/function-failed', `get-else needs a cardinality-one attribute; ${attribute.ident} is cardinality many.`, { attribute: attribute.ident });
  }
  if (args[3] === null || args[3] === undefined) fail('query/function-failed', 'get-else needs a non-nil default.', { args });
  const value = firstValue(db, args[1], attribute.id);
  return value === undefined ? args[3] : value;
}

function getSome(...args: unknown[]): unknown {
  arity('get-some', args, 3, Infinity);
  const db = database('get-some', args[0]);
  for (const a of args.slice(2)) {
    const attribute = attributeOf('get-some', db, a);
    const value = firstValue(db, args[1], attribute.id);
    if (value !== undefined) return [attribute.id, value];
  }
  return null;
}

function missing(...args: unknown[]): boolean {
  arity('missing?', args, 3);
  const db = database('missing?', args[0]);
  return firstValue(db, args[1], attributeOf('missing?', db, args[2]).id) === undefined;
}

const number = (name: string, test: (n: number) => boolean): QueryFunction => (...args) => {
  arity(name, args, 1);
  return test(Number(expectNumber(name, args[0])));
};

const string2 = (name: string, f: (s: string, t: string) => unknown): QueryFunction => (...args) => {
  arity(name, args, 2);
  return f(expectString(name, args[0]), expectString(name, args[1]));
};

const string1 = (name: string, f: (s: string) => unknown): QueryFunction => (...args) => {
  arity(name, args, 1);
  return f(expectString(name, args[0]));
};

function integerDivision(name: string, f: (a: number, b: number) => number, big: (a: bigint, b: bigint) => bigint): QueryFunction {
  return (...args) => {
    arity(name, args, 2);
    const a = expectNumber(name, args[0]);
    const b = expectNumber(name, args[1]);
    if (Number(b) === 0) fail('query/function-failed', `${name}: divide by zero (${show(a)} / ${show(b)}).`, { args });
    if (typeof a === 'bigint' || typeof b === 'bigint') return big(BigInt(a), BigInt(b));
    return f(a, b);
  };
}

const divide: QueryFunction = (...args) => {
  arity('/', args, 1, Infinity);
  const values = args.map((x) => expectNumber('/', x));
  if (values.length === 1) values.unshift(1);
  return values.reduce((a, b) => {
    if (Number(b) === 0 && (Number.isInteger(Number(a)) && Number.isInteger(Number(b)))) {
      fail('query/function-failed', `/: divide by zero (${show(a)} / ${show(b)}).`, { args });
    }
    if (typeof a === 'bigint' || typeof b === 'bigint') return BigInt(a) / BigInt(b);
    return Number.isInteger(a) && Number.isInteger(b) ? Math.trunc(a / b) : a / b;
  });
};

function extreme(name: string, sign: number): QueryFunction {
  return (...args) => {
    arity(name, args, 1, Infinity);
    return args.reduce((a, b) => (compareValues(b, a) * sign > 0 ? b : a));
  };
}

const builtinTable: Record<string, QueryFunction> = {
  '=': (...args) => args.every((x) => valuesEqual(x, args[0])),
  '==': (...args) => args.every((x) => valuesEqual(x, args[0])),
  'not=': (...args) => !args.every((x) => valuesEqual(x, args[0])),
  '!=': (...args) => !args.every((x) => valuesEqual(x, args[0])),
  '<': comparison('<', (c) => c < 0),
  '<=': comparison('<=', (c) => c <= 0),
  '>': comparison('>', (c) => c > 0),
  '>=': comparison('>=', (c) => c >= 0),
  '+': arithmetic('+', (a, b) => a + b, (a, b) => a + b),
  '-': (...args) => (args.length === 1 ? -Number(expectNumber('-', args[0])) : arithmetic('-', (a, b) => a - b, (a, b) => a - b)(...args)),
  '*': arithmetic('*', (a, b) => a * b, (a, b) => a * b),
  '/': divide,
  quot: integerDivision('quot', (a, b) => Math.trunc(a / b), (a, b) => a / b),
  rem: integerDivision('rem', (a, b) => a % b, (a, b) => a % b),
  mod: integerDivision('mod', (a, b) => ((a % b) + b) % b, (a, b) => ((a % b) + b) % b),
  inc: (...args) => { arity('inc', args, 1); const n = expectNumber('inc', args[0]); return typeof n === 'bigint' ? n + 1n : n + 1; },
  dec: (...args) => { arity('dec', args, 1); const n = expectNumber('dec', args[0]); return typeof n === 'bigint' ? n - 1n : n - 1; },
  abs: (...args) => { arity('abs', args, 1); const n = expectNumber('abs', args[0]); return n < 0 ? -n : n; },
  max: extreme('max', 1),
  min: extreme('min', -1),
  compare: (...args) => { arity('compare', args, 2); return Math.sign(compareValues(args[0], args[1])); },
  'even?': number('even?', (n) => n % 2 === 0),
  'odd?': number('odd?', (n) => Math.abs(n % 2) === 1),
  'zero?': number('zero?', (n) => n === 0),
  'pos?': number('pos?', (n) => n > 0),
  'neg?': number('neg?', (n) => n < 0),
  'nil?': (...args) => { arity('nil?', args, 1); return args[0] === null || args[0] === undefined; },
  'some?': (...args) => { arity('some?', args, 1); return args[0] !== null && args[0] !== undefined; },
  'true?': (...args) => args[0] === true,
  'false?': (...args) => args[0] === false,
  not: (...args) => { arity('not', args, 1); return !truthy(args[0]); },
  identity: (...args) => { arity('identity', args, 1); return args[0]; },
  ground: (...args) => { arity('ground', args, 1); return args[0]; },
  tuple: (...args) => args,
  untuple: (...args) => { arity('untuple', args, 1); return items(args[0]); },
  vector: (...args) => args,
  list: (...args) => args,
  'hash-set': (...args) => new Set(args),
  str: (...args) => args.map(strOf).join(''),
  subs: (...args) => {
    arity('subs', args, 2, 3);
    const s = expectString('subs', args[0]);
    const end = args[2] === undefined ? s.length : Number(args[2]);
    const start = Number(args[1]);
    if (start < 0 || end > s.length || start > end) fail('query/function-failed', `subs: range ${start}..${end} is outside ${show(s)}.`, { args });
    return s.slice(start, end);
  },
  count: (...args) => { arity('count', args, 1); return countOf(args[0]); },
  'empty?': (...args) => { arity('empty?', args, 1); return countOf(args[0]) === 0; },
  first: (...args) => items(args[0])[0] ?? null,
  second: (...args) => items(args[0])[1] ?? null,
  last: (...args) => { const xs = items(args[0]); return xs[xs.length - 1] ?? null; },
  nth: (...args) => { arity('nth', args, 2, 3); const xs = items(args[0]); const i = Number(args[1]); return i < xs.length ? xs[i] : args.length === 3 ? args[2] : fail('query/function-failed', `nth: index ${i} out of range.`, { args }); },
  get: (...args) => {
    arity('get', args, 2, 3);
    const [c, k] = args;
    const found = c instanceof Map ? c.get(k) : Array.isArray(c) ? c[Number(k)] : undefined;
    return found === undefined ? (args[2] ?? null) : found;
  },
  'contains?': (...args) => {
    arity('contains?', args, 2);
    const [c, k] = args;
    if (c instanceof Set || c instanceof Map) return c.has(k) || [...c.keys()].some((x) => valuesEqual(x, k));
    if (Array.isArray(c)) return typeof k === 'number' && k >= 0 && k < c.length;
    return false;
  },
  keyword: (...args) => { arity('keyword', args, 1, 2); return Keyword.of(args.length === 2 ? `${strOf(args[0])}/${strOf(args[1])}` : strOf(args[0])); },
  name: (...args) => { arity('name', args, 1); const x = args[0]; return x instanceof Keyword || x instanceof Sym ? x.name : strOf(x); },
  namespace: (...args) => { arity('namespace', args, 1); const x = args[0]; return x instanceof Keyword || x instanceof Sym ? x.ns : null; },
  'starts-with?': string2('starts-with?', (s, t) => s.startsWith(t)),
  'ends-with?': string2('ends-with?', (s, t) => s.endsWith(t)),
  'includes?': string2('includes?', (s, t) => s.includes(t)),
  'lower-case': string1('lower-case', (s) => s.toLowerCase()),
  'upper-case': string1('upper-case', (s) => s.toUpperCase()),
  trim: string1('trim', (s) => s.trim()),
  'blank?': (...args) => args[0] === null || args[0] === undefined || expectString('blank?', args[0]).trim() === '',
  're-pattern': (...args) => { arity('re-pattern', args, 1); return regex(args[0]); },
  're-find': (...args) => { arity('re-find', args, 2); return reResult(regex(args[0]).exec(expectString('re-find', args[1]))); },
  're-matches': (...args) => {
    arity('re-matches', args, 2);
    const s = expectString('re-matches', args[1]);
    const m = new RegExp(`^(?:${regex(args[0]).source})$`, regex(args[0]).flags).exec(s);
    return reResult(m);
  },
  're-seq': (...args) => {
    arity('re-seq', args, 2);
    const re = regex(args[0]);
    const all = [...expectString('re-seq', args[1]).matchAll(new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g'))];
    return all.length === 0 ? null : all.map((m) => reResult(m));
  },
  'get-else': getElse,
  'get-some': getSome,
  'missing?': missing,
};

for (const name of ['starts-with?', 'ends-with?', 'includes?', 'lower-case', 'upper-case', 'trim', 'blank?']) {
  builtinTable[`clojure.string/${name}`] = builtinTable[name]!;
}
for (const name of Object.keys(builtinTable)) {
  if (!name.includes('/') || name === '/') builtinTable[`clojure.core/${name}`] = builtinTable[name]!;
}

export function builtin(name: string): QueryFunction | undefined {
  return Object.hasOwn(builtinTable, name) ? builtinTable[name] : undefined;
}

export const builtinNames: readonly string[] = Object.keys(builtinTable);
