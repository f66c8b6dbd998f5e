//! The EDN printer: values → text, the inverse of the reader. For every value the reader can
//! produce, `readEdn(printEdn(v))` is ednEqual to `v`. The rules that make this hold:
//!
//!   number   a safe integer prints as an integer (`42`); any other number prints so that it reads
//!            back as a double: JS's shortest round-trip digits (`1.5`, `1e+21`), with `.0` added
//!            where they would read as an integer (`-0.0`, `100000000000000000000.0`), and
//!            `##Inf`, `##-Inf`, `##NaN`
//!   bigint   always with `N` (`42N`), so it never reads back as a number
//!   BigDec   exact digits and scale with `M` (`1.50M`); a negative scale prints with an exponent
//!            and reads back with scale 0 (numerically equal)
//!   string   `"…"` with `\" \\ \n \t \r \b \f` escaped, and other control characters and lone
//!            surrogates as `\uXXXX`, so the text is plain, valid Unicode
//!
//! Plain JS objects print as maps with keyword keys (`{'person/name': 'x'}` → `{:person/name "x"}`)
//! for display; they read back as Maps. With `width`, collections that do not fit on the rest of
//! the line break one element (or map entry) per line, aligned under the first.
import { FactumError } from '../util/errors.ts';
import { BigDec, Keyword, List, Sym, Tagged, Uri, Uuid } from '../values/values.ts';
import { encodeBase64 } from './base64.ts';
import { printInstant } from './instant.ts';
import { interpretedTags } from './tagged-literal.ts';
import { keywordProblem } from './token.ts';

export interface PrintOptions {
  /** Break collections across lines to fit this many columns. @default - everything on one line */
  readonly width?: number;
}

/** `printEdn([kw('a'), 1.5, 'x'])` → `[:a 1.5 "x"]`. */
export function printEdn(value: unknown, options: PrintOptions = {}): string {
  if (options.width === undefined) return print(value);
  return pretty(value, 0, options.width);
}

function print(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return printString(value);
    case 'number':
      return printNumber(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value + 'N';
    case 'object':
      if (value === null) return 'nil';
      if (value instanceof Keyword) return ':' + value.fqn;
      if (value instanceof Sym) return value.fqn;
      if (Array.isArray(value)) return printSequence('[', value, ']');
      return printObject(value);
    default:
      return unsupported(value);
  }
}

function printObject(value: object): string {
  if (value instanceof List) return printSequence('(', value.items, ')');
  if (value instanceof Map) return printMap(value);
  if (value instanceof Set) return printSequence('#{', [...value], '}');
  if (value instanceof BigDec) return printBigDec(value);
  if (value instanceof Date) return printDate(value);
  if (value instanceof Uuid) return `#uuid "${value.text}"`;
  if (value instanceof Uri) return `#factum/uri ${printString(value.text)}`;
  if (value instanceof Uint8Array) return `#factum/bytes "${encodeBase64(value)}"`;
  if (value instanceof Tagged) return tagPrefix(value) + print(value.value);
  return printPlainObject(value as Record<string, unknown>);
}

function printSequence(open: string, items: readonly unknown[], close: string): string {
  let text = open;
  for (let i = 0; i < items.length; i++) text += (i === 0 ? '' : ' ') + print(items[i]);
  return text + close;
}

function printMap(map: Map<unknown, unknown>): string {
  let text = '{';
  let first = true;
  for (const [key, value] of map) {
    text += (first ? '' : ', ') + print(key) + ' ' + print(value);
    first = false;
  }
  return text + '}';
}

function printPlainObject(object: Record<string, unknown>): string {
  let text = '{';
  let first = true;
  for (const key of Object.keys(object)) {
    text += (first ? '' : ', ') + printObjectKey(key) + ' ' + print(object[key]);
    first = false;
  }
  return text + '}';
}

/** A plain object's key prints as a keyword when it is a valid keyword name, else as a string. */
function printObjectKey(key: string): string {
  return keywordProblem(key) === null ? ':' + key : printString(key);
}

export function printNumber(n: number): string {
  if (Number.isSafeInteger(n)) return Object.is(n, -0) ? '-0.0' : String(n);
  if (n !== n) return '##NaN';
  if (n === Infinity) return '##Inf';
  if (n === -Infinity) return '##-Inf';
  const text = String(n);
  // An integral double beyond 2^53 prints as digits only (1e20 → "100000000000000000000").
  return text.includes('.') || text.includes('e') ? text : text + '.0';
}

function printBigDec(value: BigDec): string {
  if (value.scale >= 0) return value.toString() + 'M';
  return `${value.unscaled}E${-value.scale}M`;
}

function printDate(value: Date): string {
  if (Number.isNaN(value.getTime())) unsupported(value, 'an invalid Date has no #inst form');
  return `#inst "${printInstant(value)}"`;
}

function tagPrefix(value: Tagged): string {
  if (interpretedTags.has(value.tag)) {
    unsupported(value, `a Tagged with tag #${value.tag} would read back as #${value.tag}, not as a Tagged`);
  }
  return '#' + value.tag + ' ';
}

const escapes: Record<number, string> = { 34: '\\"', 92: '\\\\', 10: '\\n', 9: '\\t', 13: '\\r', 8: '\\b', 12: '\\f' };

export function printString(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 32 || c === 34 || c === 92 || c === 127 || (c >= 0xd800 && c <= 0xdfff)) return '"' + escapeString(text, i) + '"';
  }
  return '"' + text + '"';
}

/** Escapes `text` from `from` on (everything before it needs none). */
function escapeString(text: string, from: number): string {
  let result = text.slice(0, from);
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      result += text[i]! + text[i + 1]!; // a well-formed surrogate pair prints as itself
      i++;
    } else if (c < 32 || c === 34 || c === 92 || c === 127 || (c >= 0xd800 && c <= 0xdfff)) {
      result += escapes[c] ?? '\\u' + c.toString(16).padStart(4, '0');
    } else {
      result += text[i]!;
    }
  }
  return result;
}

function unsupported(value: unknown, why?: string): never {
  const kind = value === undefined ? 'undefined' : typeof value === 'object' ? value?.constructor?.name ?? 'object' : typeof value;
  throw new FactumError('edn/unsupported', `cannot print ${kind} as EDN: ${why ?? 'expected an EDN value (see values.ts)'}`, { kind });
}

// Pretty printing ------------------------------------------------------------------------------

/** Layout of `value` starting at column `indent`: one line when it fits, else one item per line. */
function pretty(value: unknown, indent: number, width: number): string {
  const flat = print(value);
  if (indent + flat.length <= width || typeof value !== 'object' || value === null) return flat;
  if (Array.isArray(value)) return prettySequence('[', value, ']', indent, width);
  if (value instanceof List) return prettySequence('(', value.items, ')', indent, width);
  if (value instanceof Set) return prettySequence('#{', [...value], '}', indent, width);
  if (value instanceof Map) return prettyEntries([...value], (key) => pretty(key, indent + 1, width), indent, width);
  if (value instanceof Tagged) {
    const prefix = tagPrefix(value);
    return prefix + pretty(value.value, indent + prefix.length, width);
  }
  if (value instanceof Keyword || value instanceof Sym || !isPlainCollection(value)) return flat;
  return prettyEntries(Object.entries(value), printObjectKey, indent, width);
}

/** Plain objects and class instances print as maps; values.ts scalars never break. */
function isPlainCollection(value: object): boolean {
  return !(value instanceof BigDec || value instanceof Date || value instanceof Uuid || value instanceof Uri || value instanceof Uint8Array);
}

function prettySequence(open: string, items: readonly unknown[], close: string, indent: number, width: number): string {
  const inner = indent + open.length;
  const separator = '\n' + ' '.repeat(inner);
  return open + items.map((item) => pretty(item, inner, width)).join(separator) + close;
}

function prettyEntries<K>(entries: [K, unknown][], printKey: (key: K) => string, indent: number, width: number): string {
  const inner = indent + 1;
  const separator = ',\n' + ' '.repeat(inner);
  const lines = entries.map(([key, value]) => {
    const keyText = printKey(key);
    if (keyText.includes('\n') || inner + keyText.length + 1 > width / 2) {
      return keyText + '\n' + ' '.repeat(inner) + pretty(value, inner, width);
    }
    return keyText + ' ' + pretty(value, inner + keyText.length + 1, width);
  });
  return '{' + lines.join(separator) + '}';
}
