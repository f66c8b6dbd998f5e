//! `:xform` functions: the built-ins and the ones registered in-process (ions register theirs).
//!
//! A pattern names an xform by a symbol (`clojure.core/str`, or `str` for a built-in), or, in JS
//! data, passes a function. The function gets the attribute's pulled value (for cardinality many
//! the whole array, for refs the pulled maps) and its result replaces the value. It is not applied
//! to a `:default`, which stands in for a value that is not there.
//!
//! A named xform is looked up when it is applied, so re-registering a name takes effect for
//! patterns already parsed and cached.
import { fail } from '../util/errors.ts';
import { BigDec, Keyword, Sym } from '../values/values.ts';
import { describeForm } from './describe.ts';

export type XformFunction = (value: unknown) => unknown;

export interface Xform {
  /** The symbol's name, or `#function name` for a function given in JS data. */
  readonly name: string;
  readonly apply: XformFunction;
}

const registered = new Map<string, XformFunction>();

/** Registers an xform under a fully qualified symbol name (`my.app/format-price`). */
export function registerXform(name: string, fn: XformFunction): void {
  const symbol = Sym.of(name);
  if (symbol.ns === null || typeof fn !== 'function') {
    fail('pull/invalid-xform', `registerXform takes a fully qualified symbol name (ns/name) and a function, got ${describeForm(name)}.`, { name });
  }
  registered.set(symbol.fqn, fn);
}

/** Removes a registered xform (for tests and ion redeploys). */
export function unregisterXform(name: string): void {
  registered.delete(name);
}

/** The xform named by a pattern's `:xform` value; an unknown one is an error naming it. */
export function resolveXform(value: unknown, form: unknown, whole: unknown): Xform {
  if (typeof value === 'function') {
    const fn = value as XformFunction;
    return Object.freeze({ name: `#function ${fn.name || 'anonymous'}`, apply: fn });
  }
  const name = value instanceof Sym ? value.fqn : typeof value === 'string' ? value : null;
  const canonical = name === null ? null : canonicalName(name);
  if (canonical === null) {
    return fail('pull/invalid-xform', `An :xform is a symbol naming a function (a built-in such as clojure.core/str, or one registered with registerXform), got ${describeForm(value)} in ${describeForm(form)}.`, { form, xform: value, pattern: whole });
  }
  return Object.freeze({ name: canonical, apply: (v: unknown) => lookup(canonical)(v) });
}

function canonicalName(name: string): string | null {
  if (registered.has(name) || builtins.has(name)) return name;
  const core = `clojure.core/${name}`;
  if (builtins.has(core)) return core;
  const text = `clojure.string/${name}`;
  if (builtins.has(text)) return text;
  return null;
}

function lookup(name: string): XformFunction {
  const fn = registered.get(name) ?? builtins.get(name);
  if (fn === undefined) {
    return fail('pull/invalid-xform', `The :xform ${name} is no longer registered.`, { xform: name });
  }
  return fn;
}

/** Clojure's `str` of one value: nil is "", keywords keep their colon. */
function str(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return `[${value.map(printed).join(' ')}]`;
  return String(value);
}

function printed(value: unknown): string {
  if (value === null) return 'nil';
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof BigDec) return `${value}M`;
  return str(value);
}

function named(value: unknown, part: 'name' | 'ns'): string | null {
  if (value instanceof Keyword || value instanceof Sym) return part === 'name' ? value.name : value.ns;
  if (typeof value === 'string' && part === 'name') return value;
  return fail('pull/xform-failed', `${part === 'name' ? 'name' : 'namespace'} expects a keyword or symbol, got ${describeForm(value)}.`, { value });
}

function count(value: unknown): number {
  if (value === null) return 0;
  if (typeof value === 'string' || Array.isArray(value)) return value.length;
  if (value instanceof Map || value instanceof Set) return value.size;
  if (typeof value === 'object') return Object.keys(value).length;
  return fail('pull/xform-failed', `count expects a collection or string, got ${describeForm(value)}.`, { value });
}

function numeric(value: unknown, by: number, name: string): number | bigint {
  if (typeof value === 'number') return value + by;
  if (typeof value === 'bigint') return value + BigInt(by);
  return fail('pull/xform-failed', `${name} expects a number, got ${describeForm(value)}.`, { value });
}

function text(fn: (s: string) => unknown, name: string): XformFunction {
  return (value) => {
    if (value === null) return null;
    if (typeof value !== 'string') return fail('pull/xform-failed', `${name} expects a string, got ${describeForm(value)}.`, { value });
    return fn(value);
  };
}

const items = (value: unknown): readonly unknown[] => (Array.isArray(value) ? value : value === null ? [] : [value]);

const builtins: ReadonlyMap<string, XformFunction> = new Map<string, XformFunction>([
  ['clojure.core/identity', (v) => v],
  ['clojure.core/str', str],
  ['clojure.core/name', (v) => named(v, 'name')],
  ['clojure.core/namespace', (v) => named(v, 'ns')],
  ['clojure.core/keyword', (v) => (v === null ? null : v instanceof Keyword ? v : Keyword.of(str(v)))],
  ['clojure.core/symbol', (v) => (v === null ? null : v instanceof Sym ? v : Sym.of(v instanceof Keyword ? v.fqn : str(v)))],
  ['clojure.core/count', count],
  ['clojure.core/first', (v) => items(v)[0] ?? null],
  ['clojure.core/last', (v) => items(v).at(-1) ?? null],
  ['clojure.core/vec', (v) => [...items(v)]],
  ['clojure.core/set', (v) => new Set(items(v))],
  ['clojure.core/inc', (v) => numeric(v, 1, 'inc')],
  ['clojure.core/dec', (v) => numeric(v, -1, 'dec')],
  ['clojure.core/boolean', (v) => v !== null && v !== false],
  ['clojure.core/not', (v) => v === null || v === false],
  ['clojure.core/nil?', (v) => v === null],
  ['clojure.core/some?', (v) => v !== null],
  ['clojure.string/upper-case', text((s) => s.toUpperCase(), 'upper-case')],
  ['clojure.string/lower-case', text((s) => s.toLowerCase(), 'lower-case')],
  ['clojure.string/trim', text((s) => s.trim(), 'trim')],
  ['clojure.string/capitalize', text((s) => s.charAt(0).toUpperCase() + s.slice(1).toLowerCase(), 'capitalize')],
  ['clojure.string/blank?', (v) => v === null || (typeof v === 'string' && v.trim() === '')],
]);
