//! Pull patterns: parsing Datomic's pattern grammar, from EDN data or JS data, into a tree.
//!
//! The tree is normalised: every form that selects an attribute (a plain name, a reverse name,
//! `[:a :as x]`, `(:a :limit n)`, the legacy `(limit :a n)` / `(default :a v)`, a map-spec key)
//! becomes one `attribute` node carrying its options and what to do with the values it reaches
//! (`subpattern`, `recursion` or nothing). The tree knows no schema: attribute names are resolved
//! against a db value when the pattern is pulled (see plan.ts), so one parsed pattern serves
//! every db value and is cached.
//!
//!   pattern          = [attr-spec+]
//!   attr-spec        = attr-name | wildcard | map-spec | attr-expr
//!   attr-name        = keyword naming an attribute, or `:ns/_name` (reverse), or :db/id
//!   wildcard         = * | "*"
//!   map-spec         = { ((attr-name | attr-expr) (pattern | recursion-limit))+ }
//!   attr-expr        = [attr-name attr-option+] | (attr-name attr-option+) | legacy-expr
//!   attr-option      = :as any-value | :limit (positive-integer | nil) | :default any-value
//!                    | :xform symbol
//!   legacy-expr      = (limit attr-name (positive-integer | nil)) | (default attr-name any-value)
//!   recursion-limit  = positive-integer | ...
//!
//! JS data spells the same forms with strings (`'person/name'` or `':person/name'`, `'*'`,
//! `'...'`), arrays, plain objects for map specs, and functions as `:xform` values.
import { fail } from '../util/errors.ts';
import { Keyword, List, Sym } from '../values/values.ts';
import { describeForm } from './describe.ts';
import { resolveXform, type Xform } from './xform.ts';

/** Datomic's default for how many values of a cardinality-many attribute pull returns. */
export const DEFAULT_LIMIT = 1000;

export interface PullPattern {
  readonly kind: 'pattern';
  /** True when the pattern holds `*`: every attribute of the entity, explicit specs overriding. */
  readonly wildcard: boolean;
  /** The explicit attribute specs, in the order written (map-spec entries where they appear). */
  readonly attributes: readonly AttributeSpec[];
}

export interface AttributeSpec {
  readonly kind: 'attribute';
  /** The attribute as it is installed: for a reverse spec the name without the underscore. */
  readonly attribute: Keyword;
  readonly reverse: boolean;
  /** The key of the result map: the name as written without the colon, or the `:as` alias. */
  readonly key: string;
  /** undefined: the default (1000 for many); null: every value. */
  readonly limit: number | null | undefined;
  readonly hasDefault: boolean;
  readonly default: unknown;
  readonly xform: Xform | null;
  /** What to pull from the entities this attribute reaches; null: refs stay `{ 'db/id': n }`. */
  readonly nested: Subpattern | Recursion | null;
}

export interface Subpattern {
  readonly kind: 'subpattern';
  readonly pattern: PullPattern;
}

/** Applies the enclosing pattern again to the entities reached, `depth` levels (null: no limit). */
export interface Recursion {
  readonly kind: 'recursion';
  readonly depth: number | null;
}

export type PullNode = PullPattern | AttributeSpec | Subpattern | Recursion;

const WILDCARD = Sym.of('*');
const ELLIPSIS = Sym.of('...');
const LIMIT = Sym.of('limit');
const DEFAULT = Sym.of('default');

/** Parsed patterns by the identity of the data they were parsed from (text is cached in index). */
const parsedByForm = new WeakMap<object, PullPattern>();
const parsedByText = new Map<string, PullPattern>();
const TEXT_CACHE_MAX = 512;

/**
 * Parses a pull pattern given as data (EDN data or JS data). Results are cached by the identity
 * of the pattern object, so a pattern held in a constant is parsed once.
 */
export function parsePattern(form: unknown): PullPattern {
  if (typeof form === 'object' && form !== null) {
    const cached = parsedByForm.get(form);
    if (cached !== undefined) return cached;
    const pattern = parsePatternForm(form, form);
    parsedByForm.set(form, pattern);
    return pattern;
  }
  return fail('pull/syntax', `A pull pattern must be a vector of attribute specs, got ${describeForm(form)}.`, { form });
}

/** Parses pattern text with a reader (the EDN reader), caching by text. */
export function parsePatternText(text: string, read: (text: string) => unknown): PullPattern {
  const cached = parsedByText.get(text);
  if (cached !== undefined) return cached;
  const pattern = parsePatternForm(read(text), text);
  if (parsedByText.size >= TEXT_CACHE_MAX) parsedByText.delete(parsedByText.keys().next().value!);
  parsedByText.set(text, pattern);
  return pattern;
}

function parsePatternForm(form: unknown, whole: unknown): PullPattern {
  const items = sequenceItems(form);
  if (items === null || form instanceof List) {
    fail('pull/syntax', `A pull pattern must be a vector of attribute specs, got ${describeForm(form)}.`, { form, pattern: whole });
  }
  let wildcard = false;
  const attributes: AttributeSpec[] = [];
  for (const item of items) {
    if (isWildcard(item)) wildcard = true;
    else if (isMapSpec(item)) attributes.push(...parseMapSpec(item, whole));
    else attributes.push(parseAttributeExpression(item, whole));
  }
  return Object.freeze({ kind: 'pattern', wildcard, attributes: Object.freeze(attributes) });
}

/** map-spec = { ((attr-name | attr-expr) (pattern | recursion-limit))+ } */
function parseMapSpec(form: Map<unknown, unknown> | Record<string, unknown>, whole: unknown): AttributeSpec[] {
  const entries = form instanceof Map ? [...form.entries()] : Object.entries(form);
  if (entries.length === 0) {
    fail('pull/syntax', 'A map spec needs at least one entry {attribute pattern-or-recursion-limit}, got {}.', { form, pattern: whole });
  }
  return entries.map(([key, value]) => {
    const spec = parseAttributeExpression(key, whole);
    return Object.freeze({ ...spec, nested: parseNested(value, key, whole) });
  });
}

/** pattern | recursion-limit */
function parseNested(value: unknown, key: unknown, whole: unknown): Subpattern | Recursion {
  if (value === ELLIPSIS || value === '...') return Object.freeze({ kind: 'recursion', depth: null });
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 1) {
      fail('pull/invalid-recursion', `A recursion limit must be a positive integer or ..., got ${describeForm(value)} for ${describeForm(key)}.`, { form: value, pattern: whole });
    }
    return Object.freeze({ kind: 'recursion', depth: value });
  }
  if (sequenceItems(value) !== null && !(value instanceof List)) {
    return Object.freeze({ kind: 'subpattern', pattern: parsePatternForm(value, whole) });
  }
  return fail('pull/syntax', `A map spec value must be a pattern vector, a positive recursion limit or ..., got ${describeForm(value)} for ${describeForm(key)}.`, { form: value, pattern: whole });
}

/** attr-name | [attr-name attr-option+] | (attr-name attr-option+) | legacy-expr */
function parseAttributeExpression(form: unknown, whole: unknown): AttributeSpec {
  const items = sequenceItems(form);
  if (items === null) return attributeSpec(attributeName(form, whole), form);
  if (isLegacyHead(items[0])) return parseLegacy(items, form, whole);
  if (items.length < 3 || items.length % 2 === 0) {
    fail('pull/syntax', `An attribute expression is [attribute option value ...] with at least one option, got ${describeForm(form)}.`, { form, pattern: whole });
  }
  let spec = attributeSpec(attributeName(items[0], whole), items[0]);
  const seen = new Set<string>();
  for (let i = 1; i < items.length; i += 2) {
    const option = optionName(items[i]);
    if (option === null || seen.has(option)) {
      const problem = option === null ? 'unknown option' : 'repeated option';
      fail('pull/invalid-option', `Pull attribute options are :as, :limit, :default and :xform, each once; ${problem} ${describeForm(items[i])} in ${describeForm(form)}.`, { form, option: items[i], pattern: whole });
    }
    seen.add(option);
    spec = withOption(spec, option, items[i + 1], form, whole);
  }
  return Object.freeze(spec);
}

/** (limit attr-name (positive-integer | nil)) | (default attr-name any-value) */
function parseLegacy(items: readonly unknown[], form: unknown, whole: unknown): AttributeSpec {
  if (items.length !== 3) {
    fail('pull/syntax', `A legacy expression is (limit attribute n) or (default attribute value), got ${describeForm(form)}.`, { form, pattern: whole });
  }
  const option = items[0] === LIMIT || items[0] === 'limit' ? 'limit' : 'default';
  const spec = attributeSpec(attributeName(items[1], whole), items[1]);
  return Object.freeze(withOption(spec, option, items[2], form, whole));
}

type Option = 'as' | 'limit' | 'default' | 'xform';

function withOption(spec: AttributeSpec, option: Option, value: unknown, form: unknown, whole: unknown): AttributeSpec {
  switch (option) {
    case 'as':
      return { ...spec, key: aliasKey(value, form, whole) };
    case 'limit':
      return { ...spec, limit: limitValue(value, form, whole) };
    case 'default':
      return { ...spec, hasDefault: true, default: value };
    case 'xform':
      return { ...spec, xform: resolveXform(value, form, whole) };
  }
}

function aliasKey(value: unknown, form: unknown, whole: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Keyword || value instanceof Sym) return value.fqn;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return fail('pull/invalid-option', `An :as alias must be a string, keyword, symbol, number or boolean, got ${describeForm(value)} in ${describeForm(form)}.`, { form, option: value, pattern: whole });
}

function limitValue(value: unknown, form: unknown, whole: unknown): number | null {
  if (value === null) return null;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value;
  if (typeof value === 'bigint' && value > 0n && value <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(value);
  return fail('pull/invalid-option', `A :limit must be a positive integer or nil, got ${describeForm(value)} in ${describeForm(form)}.`, { form, option: value, pattern: whole });
}

function optionName(form: unknown): Option | null {
  const text = form instanceof Keyword ? form.fqn : typeof form === 'string' ? (form.startsWith(':') ? form.slice(1) : form) : null;
  return text === 'as' || text === 'limit' || text === 'default' || text === 'xform' ? text : null;
}

interface AttributeName {
  readonly attribute: Keyword;
  readonly reverse: boolean;
  readonly key: string;
}

/** A keyword (or a string spelling one) naming an attribute; `:ns/_name` is a reverse ref. */
function attributeName(form: unknown, whole: unknown): AttributeName {
  let keyword: Keyword | null = null;
  if (form instanceof Keyword) keyword = form;
  else if (typeof form === 'string' && form !== '' && form !== ':' && form !== '*' && form !== '...') keyword = Keyword.of(form);
  if (keyword === null) {
    return fail('pull/syntax', `Expected an attribute name (a keyword such as :person/name), got ${describeForm(form)}.`, { form, pattern: whole });
  }
  if (keyword.name.startsWith('_') && keyword.name.length > 1) {
    const forward = keyword.ns === null ? keyword.name.slice(1) : `${keyword.ns}/${keyword.name.slice(1)}`;
    return { attribute: Keyword.of(forward), reverse: true, key: keyword.fqn };
  }
  return { attribute: keyword, reverse: false, key: keyword.fqn };
}

function attributeSpec(name: AttributeName, _form: unknown): AttributeSpec {
  return {
    kind: 'attribute',
    attribute: name.attribute,
    reverse: name.reverse,
    key: name.key,
    limit: undefined,
    hasDefault: false,
    default: undefined,
    xform: null,
    nested: null,
  };
}

function isWildcard(form: unknown): boolean {
  return form === WILDCARD || form === '*';
}

function isLegacyHead(form: unknown): boolean {
  return form === LIMIT || form === DEFAULT || form === 'limit' || form === 'default';
}

function isMapSpec(form: unknown): form is Map<unknown, unknown> | Record<string, unknown> {
  if (form instanceof Map) return true;
  return typeof form === 'object' && form !== null && Object.getPrototypeOf(form) === Object.prototype;
}

/** The items of a vector (array) or list; null for anything else. */
function sequenceItems(form: unknown): readonly unknown[] | null {
  if (Array.isArray(form)) return form;
  if (form instanceof List) return form.items;
  return null;
}
