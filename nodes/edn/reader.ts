//! The EDN reader: text → values in the representation of `values/values.ts`.
//!
//! A hand-written scanner over UTF-16 code units (charCodeAt, one table lookup per character).
//! Nesting is kept on an explicit stack of open frames rather than the call stack, so depth is
//! limited only by memory. The forms of all open collections wait on one shared value stack:
//!
//!     text:    [:find ?e #_ ignored :where [?e :a 1]]
//!     frames:  vector(base 0) · vector(base 3)
//!     values:  :find ?e :where │ ?e :a        ← `1` goes next; `]` then copies ?e :a 1 out
//!                                              into a new array and pushes that array at 3
//!
//! Each form is read and then *emitted* to the top frame: a collection frame pushes it on the
//! value stack; a tag frame (`#inst`) transforms it and emits the result further down; a discard
//! frame (`#_`) drops it. A closing bracket pops its frame and builds the collection from the
//! values above the frame's base. Frames are reused, so a collection costs one allocation: itself.
//!
//! Positions are plain offsets while reading; line and column (1-based) are computed only when an
//! error is reported, so correct input pays nothing for them. Names are validated once and then
//! found again through caches (see readKeyword).
import { FactumError } from '../util/errors.ts';
import { Keyword, List, Sym } from '../values/values.ts';
import { findKey, isPrimitiveKey } from './edn-equal.ts';
import { NumberProblem, scanNumber } from './number.ts';
import { TagProblem, readTaggedLiteral } from './tagged-literal.ts';
import { DELIMITER, WHITESPACE, asciiClass, isReservedSymbol, keywordProblem, symbolProblem } from './token.ts';

/** Reads exactly one form; an error when the text holds none or more than one. */
export function readEdn(text: string): unknown {
  const reader = new EdnReader(text);
  const value = reader.next();
  if (value === END) reader.fail(reader.position, 'expected a form', 'a form');
  const start = reader.skipWhitespace();
  if (reader.next() !== END) reader.fail(start, 'expected end of input after the form', 'end of input');
  return value;
}

/** Reads every form in the text. */
export function readAllEdn(text: string): unknown[] {
  const reader = new EdnReader(text);
  const values: unknown[] = [];
  for (let value = reader.next(); value !== END; value = reader.next()) values.push(value);
  return values;
}

const END: unique symbol = Symbol('end of input');
const OPENED: unique symbol = Symbol('frame opened');

/**
 * Names already validated, by their text: a query or transaction repeats a few names many times,
 * so each is checked once. Like the interning tables of Keyword and Sym, these only grow.
 */
const knownKeywords = new Map<string, Keyword>();
const knownSymbols = new Map<string, Sym>();
const keywordSlotMask = 1023;
/** Empty slots hold a name no token can match (a space ends a token). */
const keywordSlotNames: string[] = new Array<string>(keywordSlotMask + 1).fill(' ');
const keywordSlots: (Keyword | undefined)[] = new Array<Keyword | undefined>(keywordSlotMask + 1);

const LIST = 0;
const VECTOR = 1;
const MAP = 2;
const SET = 3;
const TAG = 4;
const DISCARD = 5;
const frameNames = ['list', 'vector', 'map', 'set'];
const frameClosers = [')', ']', '}', '}'];
const closerCodes = [41, 93, 125, 125];

/**
 * One open collection, tag or discard. Frames are reused from depth to depth, and the forms of
 * every open collection wait on one shared value stack, from `base` up; closing a collection
 * copies its forms out into an array of exactly their number. Few allocations, little GC.
 */
class Frame {
  kind = 0;
  /** Offset of the opening text (`[`, `#{`, `#inst`, `#_`). */
  start = 0;
  /** Where this collection's forms begin on the value stack. */
  base = 0;
  /** The tag of a TAG frame, without `#`. */
  tag = '';
}

/** A tag starts with a letter (as in Clojure): `#inst`, `#my/tag`. */
function isAsciiLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

const namedCharacters: Record<string, string> = {
  newline: '\n',
  space: ' ',
  tab: '\t',
  return: '\r',
  backspace: '\b',
  formfeed: '\f',
};

const stringEscapes: Record<string, string> = { t: '\t', r: '\r', n: '\n', '\\': '\\', '"': '"', b: '\b', f: '\f' };

class EdnReader {
  private readonly text: string;
  position = 0;
  /** Open frames are `frames[0 .. depth)`; deeper entries are spares for reuse. */
  private readonly frames: Frame[] = [];
  private depth = 0;
  /** The forms of the open collections; `values[0 .. valueCount)` are live. */
  private readonly values: unknown[] = [];
  private valueCount = 0;

  constructor(text: string) {
    this.text = text;
    if (text.charCodeAt(0) === 0xfeff) this.position = 1; // byte order mark
  }

  /** Reads the next top-level form, or returns END. */
  next(): unknown {
    const frames = this.frames;
    for (;;) {
      const start = this.skipWhitespace();
      if (start >= this.text.length) {
        if (this.depth > 0) this.failUnclosed(frames[this.depth - 1]!);
        return END;
      }
      let value = this.readOne(this.text.charCodeAt(start));
      if (value === OPENED) continue;
      // Emit the value to the frames on the stack.
      for (;;) {
        if (this.depth === 0) return value;
        const top = frames[this.depth - 1]!;
        if (top.kind === TAG) {
          this.depth--;
          value = this.applyTag(top, value);
        } else if (top.kind === DISCARD) {
          this.depth--;
          break;
        } else {
          this.values[this.valueCount++] = value;
          break;
        }
      }
    }
  }

  /** Reads one atom or closes a collection (returning it), or opens a frame (returning OPENED). */
  private readOne(c: number): unknown {
    switch (c) {
      case 40 /* ( */:
        return this.open(LIST, 1);
      case 91 /* [ */:
        return this.open(VECTOR, 1);
      case 123 /* { */:
        return this.open(MAP, 1);
      case 41 /* ) */:
      case 93 /* ] */:
      case 125 /* } */:
        return this.close(c);
      case 34 /* " */:
        return this.readString();
      case 35 /* # */:
        return this.readDispatch();
      case 92 /* \ */:
        return this.readCharacter();
      case 58 /* : */:
        return this.readKeyword();
      default:
        return this.readToken();
    }
  }

  /** Skips whitespace and comments; returns the new position. */
  skipWhitespace(): number {
    const text = this.text;
    const length = text.length;
    let i = this.position;
    while (i < length) {
      const c = text.charCodeAt(i);
      if (c < 128 && (asciiClass[c]! & WHITESPACE) !== 0) {
        i++;
      } else if (c === 59 /* ; */) {
        while (i < length && text.charCodeAt(i) !== 10) i++;
      } else {
        break;
      }
    }
    this.position = i;
    return i;
  }

  private open(kind: number, width: number): typeof OPENED {
    this.push(kind, '');
    this.position += width;
    return OPENED;
  }

  private push(kind: number, tag: string): void {
    let frame = this.frames[this.depth];
    if (frame === undefined) {
      frame = new Frame();
      this.frames.push(frame);
    }
    frame.kind = kind;
    frame.start = this.position;
    frame.base = this.valueCount;
    frame.tag = tag;
    this.depth++;
  }

  private close(c: number): unknown {
    if (this.depth === 0) return this.fail(this.position, `unexpected '${String.fromCharCode(c)}' with no collection open`, 'a form');
    const top = this.frames[this.depth - 1]!;
    if (top.kind === TAG || top.kind === DISCARD) {
      const opener = top.kind === TAG ? '#' + top.tag : '#_';
      return this.fail(this.position, `expected a form after ${opener} at ${this.where(top.start)}`, 'a form');
    }
    if (c !== closerCodes[top.kind]) {
      const expected = frameClosers[top.kind]!;
      const name = frameNames[top.kind]!;
      this.fail(this.position, `expected '${expected}' to close the ${name} opened at ${this.where(top.start)}`, `'${expected}'`);
    }
    this.position++;
    this.depth--;
    const base = top.base;
    const count = this.valueCount;
    this.valueCount = base;
    if (top.kind === VECTOR) return this.values.slice(base, count);
    if (top.kind === LIST) return new List(this.values.slice(base, count));
    if (top.kind === MAP) return this.buildMap(top, base, count);
    return this.buildSet(top, base, count);
  }

  /** Fast path: put every entry in; look for the duplicate only when the size falls short or a key is composite. */
  private buildMap(frame: Frame, base: number, end: number): Map<unknown, unknown> {
    const values = this.values;
    if ((end - base) % 2 !== 0) {
      this.fail(frame.start, `a map needs an even number of forms; the map opened at ${this.where(frame.start)} has ${end - base}`, 'a value for every key');
    }
    const map = new Map<unknown, unknown>();
    let composite = false;
    for (let i = base; i < end; i += 2) {
      const key = values[i];
      if (!composite && !isPrimitiveKey(key)) composite = true;
      map.set(key, values[i + 1]);
    }
    if (composite || map.size * 2 !== end - base) this.checkDistinct(frame, 'key', base, end, 2);
    return map;
  }

  private buildSet(frame: Frame, base: number, end: number): Set<unknown> {
    const values = this.values;
    const set = new Set<unknown>();
    let composite = false;
    for (let i = base; i < end; i++) {
      if (!composite && !isPrimitiveKey(values[i])) composite = true;
      set.add(values[i]);
    }
    if (composite || set.size !== end - base) this.checkDistinct(frame, 'element', base, end, 1);
    return set;
  }

  private failUnclosed(top: Frame): never {
    if (top.kind === TAG || top.kind === DISCARD) {
      const opener = top.kind === TAG ? '#' + top.tag : '#_';
      this.fail(this.text.length, `expected a form after ${opener} at ${this.where(top.start)}`, 'a form');
    }
    const expected = frameClosers[top.kind]!;
    const name = frameNames[top.kind]!;
    return this.fail(this.text.length, `expected '${expected}' to close the ${name} opened at ${this.where(top.start)}`, `'${expected}'`);
  }

  /** Fails on the first key or element that ednEquals an earlier one (composite ones compare by content). */
  private checkDistinct(frame: Frame, what: string, base: number, end: number, stride: number): void {
    const seen = new Map<unknown, unknown>();
    for (let i = base; i < end; i += stride) {
      const item = this.values[i];
      if (findKey(seen, item) !== undefined) this.failDuplicate(frame, what, item);
      seen.set(item, true);
    }
  }

  private failDuplicate(frame: Frame, what: string, value: unknown): never {
    const name = frameNames[frame.kind]!;
    const shown = this.describe(value);
    return this.fail(frame.start, `duplicate ${what} ${shown} in the ${name} opened at ${this.where(frame.start)}`, `distinct ${what}s`, shown);
  }

  /** A short display of a value for error messages (the printer depends on this module's users). */
  private describe(value: unknown): string {
    if (value instanceof Keyword) return ':' + value.fqn;
    if (value instanceof Sym) return value.fqn;
    if (typeof value === 'string') return JSON.stringify(value);
    if (typeof value === 'bigint') return value + 'N';
    if (Array.isArray(value)) return `a vector of ${value.length}`;
    if (value instanceof List) return `a list of ${value.length}`;
    if (value === null) return 'nil';
    return typeof value === 'object' ? `a ${value.constructor?.name ?? 'value'}` : String(value);
  }

  /** After `#`: a set, a discard, a symbolic value or a tag. */
  private readDispatch(): unknown {
    const c = this.text.charCodeAt(this.position + 1);
    if (c === 123 /* { */) return this.open(SET, 2);
    if (c === 95 /* _ */) return this.open(DISCARD, 2);
    if (c === 35 /* # */) return this.readSymbolicValue();
    if (isAsciiLetter(c)) {
      const start = this.position;
      const end = this.tokenEnd(start + 1);
      const tag = this.text.slice(start + 1, end);
      const problem = symbolProblem(tag);
      if (problem !== null) this.fail(start + 1, `invalid tag #${tag}: ${problem}`, 'a tag symbol');
      this.push(TAG, tag);
      this.position = end;
      return OPENED;
    }
    return this.failDispatch(c);
  }

  private failDispatch(c: number): never {
    const unsupported: Record<string, string> = {
      '"': 'regular expressions (#"...")',
      '(': 'anonymous functions (#(...))',
      "'": 'var quotes (#\'...)',
      ':': 'namespaced maps (#:ns{...})',
      '?': 'reader conditionals (#?(...))',
      '=': 'read-eval (#=)',
    };
    const what = unsupported[String.fromCharCode(c)];
    if (what !== undefined) {
      throw this.error('edn/unsupported', this.position, `${what} are Clojure syntax, not EDN`, 'an EDN form');
    }
    return this.fail(this.position, "expected '{', '_', '#' or a tag (starting with a letter) after '#'", "'#{', '#_', '##' or a tag");
  }

  private readSymbolicValue(): number {
    const start = this.position;
    const end = this.tokenEnd(start + 2);
    const name = this.text.slice(start + 2, end);
    this.position = end;
    if (name === 'Inf') return Infinity;
    if (name === '-Inf') return -Infinity;
    if (name === 'NaN') return NaN;
    return this.fail(start, `unknown symbolic value ##${name}`, '##Inf, ##-Inf or ##NaN');
  }

  private applyTag(frame: Frame, value: unknown): unknown {
    const result = readTaggedLiteral(frame.tag, value, (v) => this.describe(v));
    if (result instanceof TagProblem) this.fail(frame.start, result.message, result.expected);
    return result;
  }

  /** The offset just past the token that starts at `start`. */
  private tokenEnd(start: number): number {
    const text = this.text;
    const length = text.length;
    let i = start;
    while (i < length) {
      const c = text.charCodeAt(i);
      if (c < 128 && (asciiClass[c]! & DELIMITER) !== 0) break;
      i++;
    }
    return i;
  }

  private readString(): string {
    const text = this.text;
    const length = text.length;
    const start = this.position;
    let i = start + 1;
    while (i < length) {
      const c = text.charCodeAt(i);
      if (c === 34) {
        this.position = i + 1;
        return text.slice(start + 1, i);
      }
      if (c === 92) return this.readEscapedString(start, i);
      i++;
    }
    return this.fail(length, `expected '"' to close the string opened at ${this.where(start)}`, "'\"'");
  }

  /** The slow path of readString, from the first backslash at `i`. */
  private readEscapedString(start: number, i: number): string {
    const text = this.text;
    const length = text.length;
    let result = text.slice(start + 1, i);
    let chunk = i;
    while (i < length) {
      const c = text.charCodeAt(i);
      if (c === 34) {
        this.position = i + 1;
        return result + text.slice(chunk, i);
      }
      if (c !== 92) {
        i++;
        continue;
      }
      result += text.slice(chunk, i);
      const escape = text[i + 1] ?? '';
      if (escape === 'u') {
        result += this.readUnicodeEscape(i, i + 2);
        i += 6;
      } else {
        const replacement = stringEscapes[escape];
        if (replacement === undefined) {
          this.fail(i, `unknown escape \\${escape} in a string`, 'one of \\t \\r \\n \\b \\f \\\\ \\" \\uXXXX');
        }
        result += replacement;
        i += 2;
      }
      chunk = i;
    }
    return this.fail(length, `expected '"' to close the string opened at ${this.where(start)}`, "'\"'");
  }

  /** Four hex digits at `digits` (the escape begins at `start`): one UTF-16 code unit. */
  private readUnicodeEscape(start: number, digits: number): string {
    const hex = this.text.slice(digits, digits + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail(start, `invalid unicode escape \\u${hex}`, 'four hexadecimal digits after \\u');
    return String.fromCharCode(parseInt(hex, 16));
  }

  /** `\a`, `\newline`, `\u00e9`, `\o101`: a one-character string. */
  private readCharacter(): string {
    const text = this.text;
    const start = this.position;
    const first = text.charCodeAt(start + 1);
    if (first !== first || (first < 128 && (asciiClass[first]! & WHITESPACE) !== 0)) {
      this.fail(start, 'expected a character after \\', 'a character such as \\a or \\newline');
    }
    const isPair = first >= 0xd800 && first <= 0xdbff && (text.charCodeAt(start + 2) & 0xfc00) === 0xdc00;
    const end = this.tokenEnd(start + (isPair ? 3 : 2));
    this.position = end;
    const token = text.slice(start + 1, end);
    if (end === start + (isPair ? 3 : 2)) return token;
    const named = namedCharacters[token];
    if (named !== undefined) return named;
    if (token[0] === 'u' && token.length === 5) return this.readUnicodeEscape(start, start + 2);
    if (token[0] === 'o' && /^o[0-3]?[0-7]{1,2}$/.test(token)) return String.fromCharCode(parseInt(token.slice(1), 8));
    return this.fail(start, `unknown character \\${token}`, 'a character such as \\a, \\newline, \\space, \\tab or \\uXXXX');
  }

  /**
   * Keywords repeat, so the scan hashes the name as it goes and looks in a small direct-mapped
   * cache that compares the text in place: a hit allocates nothing.
   */
  private readKeyword(): Keyword {
    const text = this.text;
    const length = text.length;
    const start = this.position;
    let end = start + 1;
    let hash = 0;
    while (end < length) {
      const c = text.charCodeAt(end);
      if (c < 128 && (asciiClass[c]! & DELIMITER) !== 0) break;
      hash = (Math.imul(hash, 31) + c) | 0;
      end++;
    }
    this.position = end;
    const slot = hash & keywordSlotMask;
    const cachedName = keywordSlotNames[slot]!;
    if (cachedName.length === end - start - 1 && text.startsWith(cachedName, start + 1)) return keywordSlots[slot]!;
    const name = text.slice(start + 1, end);
    const keyword = knownKeywords.get(name) ?? this.newKeyword(start, name);
    keywordSlotNames[slot] = name;
    keywordSlots[slot] = keyword;
    return keyword;
  }

  private newKeyword(start: number, name: string): Keyword {
    const problem = keywordProblem(name);
    if (problem !== null) {
      const code = name.charCodeAt(0) === 58 ? 'edn/unsupported' : 'edn/syntax';
      throw this.error(code, start, `invalid keyword :${name}: ${problem}`, 'a keyword such as :name or :ns/name');
    }
    const keyword = Keyword.of(name);
    knownKeywords.set(name, keyword);
    return keyword;
  }

  /** A number, a symbol, nil, true or false. */
  private readToken(): unknown {
    const text = this.text;
    const start = this.position;
    const end = this.tokenEnd(start);
    this.position = end;
    const first = text.charCodeAt(start);
    const second = text.charCodeAt(start + 1);
    if ((first >= 48 && first <= 57) || ((first === 43 || first === 45) && second >= 48 && second <= 57)) {
      const number = scanNumber(text, start, end);
      if (number instanceof NumberProblem) throw this.error(number.code, start, number.message, 'a number such as 42, 42N, 1.5, 1e10 or 1.5M');
      return number;
    }
    const token = text.slice(start, end);
    const symbol = knownSymbols.get(token);
    if (symbol !== undefined) return symbol;
    if (isReservedSymbol(token)) return token === 'nil' ? null : token === 'true';
    const problem = symbolProblem(token);
    if (problem !== null) this.fail(start, `invalid symbol ${token}: ${problem}`, 'a symbol, number, string or collection');
    const created = Sym.of(token);
    knownSymbols.set(token, created);
    return created;
  }

  /** `line:column` of an offset, both 1-based. */
  where(offset: number): string {
    const { line, column } = this.lineAndColumn(offset);
    return `${line}:${column}`;
  }

  private lineAndColumn(offset: number): { line: number; column: number } {
    let line = 1;
    let lineStart = 0;
    for (let i = this.text.indexOf('\n'); i >= 0 && i < offset; i = this.text.indexOf('\n', i + 1)) {
      line++;
      lineStart = i + 1;
    }
    return { line, column: offset - lineStart + 1 };
  }

  fail(offset: number, message: string, expected: string, found?: string): never {
    throw this.error('edn/syntax', offset, message, expected, found);
  }

  private error(code: 'edn/syntax' | 'edn/unsupported', offset: number, message: string, expected: string, found?: string): FactumError {
    const { line, column } = this.lineAndColumn(offset);
    const text = found ?? this.textAt(offset);
    // Messages that say what was expected also say what was found instead.
    const suffix = message.startsWith('expected') ? `, found ${text}` : '';
    const kind = code === 'edn/syntax' ? 'syntax error' : 'not supported';
    return new FactumError(code, `EDN ${kind} at ${line}:${column}: ${message}${suffix}`, {
      line,
      column,
      text,
      expected,
    });
  }

  /** The offending text at an offset, for messages: the token there, or "end of input". */
  private textAt(offset: number): string {
    if (offset >= this.text.length) return 'end of input';
    const first = this.text.charCodeAt(offset);
    const end = first < 128 && (asciiClass[first]! & DELIMITER) !== 0 ? offset + 1 : Math.max(this.tokenEnd(offset), offset + 1);
    const token = this.text.slice(offset, Math.min(end, offset + 40));
    return `'${token}'`;
  }
}
