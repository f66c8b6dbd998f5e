//! A compact binary codec for values: log entries, segments and the wire.
//!
//! `Writer` appends to a growable byte array; `Reader` reads the same sequence back. Primitives:
//!
//!   uint     unsigned LEB128 varint of a safe non-negative integer (1–8 bytes; canonical: no
//!            trailing zero groups)
//!   int      signed varint of a safe integer: the first byte holds the sign in bit 6 and six bits
//!            of magnitude, later bytes seven bits each
//!   float64  8 bytes, little-endian IEEE 754 (every NaN reads back as NaN, -0 as -0)
//!   bytes    uint length, then the bytes
//!   string   uint header = byteLength * 2 + form, then the bytes: form 0 is UTF-8; form 1 is
//!            UTF-16LE code units, used only for strings holding lone surrogates, which UTF-8
//!            cannot carry — so every JS string round-trips exactly
//!
//! `value(v)` writes one tag byte and the value's body:
//!
//!   0x80|n  a safe integer 0–127, in the tag itself
//!   NIL FALSE TRUE | INT_POSITIVE uint | INT_NEGATIVE uint(-n) | FLOAT float64
//!   BIGINT uint(byteLength * 2 + sign) then big-endian magnitude (no leading zero byte)
//!   STRING KEYWORD SYMBOL URI string | BIGDEC int(scale) then a BIGINT body | INSTANT int(ms)
//!   UUID 16 bytes | BYTES bytes | TAGGED string(tag) value
//!   VECTOR LIST SET uint(count) values | MAP uint(count) key value … | OBJECT uint(count) string value …
//!
//! The Reader trusts nothing: every length is checked against the bytes left before anything is
//! allocated, nesting is bounded, and any inconsistency (unknown tag, truncation, overlong varint,
//! invalid UTF-8, duplicate keys, trailing bytes) throws `storage/corrupt`. Encoding a value that
//! is not one of values.ts throws `value/wrong-type`; nesting deeper than `nestingMax` throws
//! `value/too-large`, so that whatever is written can be read.
import { assert } from '../util/assert.ts';
import { FactumError, fail } from '../util/errors.ts';
import { BigDec, Keyword, List, Sym, Tagged, Uri, Uuid } from './values.ts';

/** The deepest nesting of collections the codec writes and reads. */
export const nestingMax = 1000;

const NIL = 0;
const FALSE = 1;
const TRUE = 2;
const INT_POSITIVE = 3;
const INT_NEGATIVE = 4;
const FLOAT = 5;
const BIGINT = 6;
const STRING = 7;
const KEYWORD = 8;
const SYMBOL = 9;
const BIGDEC = 10;
const INSTANT = 11;
const UUID = 12;
const URI = 13;
const BYTES = 14;
const VECTOR = 15;
const LIST = 16;
const MAP = 17;
const SET = 18;
const TAGGED = 19;
const OBJECT = 20;
const SMALL_INT = 0x80;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Strings up to this many code units are encoded by hand; longer ones by TextEncoder. */
const shortStringMax = 48;

function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

export class Writer {
  private buffer: Uint8Array;
  private view: DataView;
  private position = 0;

  constructor(capacityBytes = 256) {
    this.buffer = new Uint8Array(capacityBytes);
    this.view = new DataView(this.buffer.buffer);
  }

  /** The number of bytes written so far. */
  get length(): number {
    return this.position;
  }

  private ensure(bytes: number): void {
    if (this.position + bytes <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < this.position + bytes) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.buffer.subarray(0, this.position));
    this.buffer = grown;
    this.view = new DataView(grown.buffer);
  }

  byte(b: number): void {
    this.ensure(1);
    this.buffer[this.position++] = b;
  }

  uint(n: number): void {
    assert(Number.isSafeInteger(n) && n >= 0, `uint expects a safe non-negative integer, got ${n}`);
    this.ensure(8);
    const buffer = this.buffer;
    let p = this.position;
    while (n > 0x7fffffff) {
      buffer[p++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    while (n >= 0x80) {
      buffer[p++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    buffer[p++] = n;
    this.position = p;
  }

  int(n: number): void {
    assert(Number.isSafeInteger(n), `int expects a safe integer, got ${n}`);
    const negative = n < 0;
    let magnitude = negative ? -n : n;
    const first = (magnitude % 64) | (negative ? 0x40 : 0);
    magnitude = Math.floor(magnitude / 64);
    if (magnitude === 0) return this.byte(first);
    this.byte(first | 0x80);
    this.uint(magnitude);
  }

  float64(x: number): void {
    this.ensure(8);
    this.view.setFloat64(this.position, x, true);
    this.position += 8;
  }

  /** Length-prefixed bytes. */
  bytes(b: Uint8Array): void {
    this.uint(b.length);
    this.raw(b);
  }

  /** Bytes without a length: the reader must know how many to take. */
  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buffer.set(b, this.position);
    this.position += b.length;
  }

  string(s: string): void {
    const bytesMax = s.length * 3;
    const headerMax = varintSize(bytesMax * 2 + 1);
    this.ensure(headerMax + bytesMax + 8); // + 8: uint() below must not grow the buffer
    const start = this.position + headerMax;
    let written = s.length <= shortStringMax ? encodeShortUtf8(s, this.buffer, start) : encodeLongUtf8(s, this.buffer, start);
    let form = 0;
    if (written < 0) {
      written = encodeUtf16(s, this.buffer, start);
      form = 1;
    }
    const header = written * 2 + form;
    const headerSize = varintSize(header);
    if (headerSize < headerMax) this.buffer.copyWithin(this.position + headerSize, start, start + written);
    this.uint(header);
    this.position += written;
  }

  /** One value of values.ts, tagged by type. */
  value(v: unknown): void {
    this.valueAt(v, 0);
  }

  private valueAt(v: unknown, depth: number): void {
    switch (typeof v) {
      case 'number':
        return this.number(v);
      case 'string':
        this.byte(STRING);
        return this.string(v);
      case 'boolean':
        return this.byte(v ? TRUE : FALSE);
      case 'bigint':
        this.byte(BIGINT);
        return this.bigint(v);
      case 'object':
        if (v === null) return this.byte(NIL);
        if (v instanceof Keyword) return this.named(KEYWORD, v.fqn);
        if (Array.isArray(v)) return this.sequence(VECTOR, v, depth);
        return this.object(v, depth);
      default:
        return wrongType(v);
    }
  }

  private number(n: number): void {
    if (Number.isSafeInteger(n) && !Object.is(n, -0)) {
      if (n >= 0 && n < 128) return this.byte(SMALL_INT | n);
      this.byte(n >= 0 ? INT_POSITIVE : INT_NEGATIVE);
      return this.uint(n >= 0 ? n : -n);
    }
    this.byte(FLOAT);
    this.float64(n);
  }

  private named(tag: number, text: string): void {
    this.byte(tag);
    this.string(text);
  }

  /** A bigint body: header = byteLength * 2 + sign, then the big-endian magnitude. */
  private bigint(n: bigint): void {
    const negative = n < 0n;
    let hex = (negative ? -n : n).toString(16);
    if (hex === '0') hex = '';
    if (hex.length % 2 === 1) hex = '0' + hex;
    const length = hex.length / 2;
    this.uint(length * 2 + (negative ? 1 : 0));
    this.ensure(length);
    for (let i = 0; i < length; i++) this.buffer[this.position++] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  }

  private object(v: object, depth: number): void {
    if (v instanceof Sym) return this.named(SYMBOL, v.fqn);
    if (v instanceof List) return this.sequence(LIST, v.items, depth);
    if (v instanceof Map) return this.map(v, depth);
    if (v instanceof Set) return this.sequence(SET, [...v], depth);
    if (v instanceof Date) return this.instant(v);
    if (v instanceof BigDec) return this.bigDec(v);
    if (v instanceof Uuid) return this.uuid(v);
    if (v instanceof Uri) return this.named(URI, v.text);
    if (v instanceof Uint8Array) {
      this.byte(BYTES);
      return this.bytes(v);
    }
    if (v instanceof Tagged) {
      this.named(TAGGED, v.tag);
      return this.valueAt(v.value, this.deeper(depth));
    }
    const prototype = Object.getPrototypeOf(v);
    if (prototype === Object.prototype || prototype === null) return this.plainObject(v as Record<string, unknown>, depth);
    return wrongType(v);
  }

  private deeper(depth: number): number {
    if (depth >= nestingMax) fail('value/too-large', `values nest deeper than ${nestingMax} levels`, { nestingMax });
    return depth + 1;
  }

  private sequence(tag: number, items: readonly unknown[], depth: number): void {
    const inner = this.deeper(depth);
    this.byte(tag);
    this.uint(items.length);
    for (let i = 0; i < items.length; i++) this.valueAt(items[i], inner);
  }

  private map(map: Map<unknown, unknown>, depth: number): void {
    const inner = this.deeper(depth);
    this.byte(MAP);
    this.uint(map.size);
    for (const [key, value] of map) {
      this.valueAt(key, inner);
      this.valueAt(value, inner);
    }
  }

  private plainObject(object: Record<string, unknown>, depth: number): void {
    const inner = this.deeper(depth);
    const keys = Object.keys(object);
    this.byte(OBJECT);
    this.uint(keys.length);
    for (const key of keys) {
      this.string(key);
      this.valueAt(object[key], inner);
    }
  }

  private instant(date: Date): void {
    const ms = date.getTime();
    if (Number.isNaN(ms)) fail('value/wrong-type', 'cannot encode an invalid Date: expected a Date with a time', { value: String(date) });
    this.byte(INSTANT);
    this.int(ms);
  }

  private bigDec(value: BigDec): void {
    this.byte(BIGDEC);
    this.int(value.scale);
    this.bigint(value.unscaled);
  }

  private uuid(value: Uuid): void {
    this.byte(UUID);
    this.ensure(16);
    const hex = value.text.replaceAll('-', '');
    for (let i = 0; i < 16; i++) this.buffer[this.position++] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  }

  /** The bytes written, as a new array of exactly that length; the writer starts over, empty. */
  finish(): Uint8Array {
    const result = this.buffer.slice(0, this.position);
    this.position = 0;
    return result;
  }
}

function wrongType(v: unknown): never {
  const kind = typeof v === 'object' ? (v?.constructor?.name ?? 'object') : typeof v;
  return fail('value/wrong-type', `cannot encode ${kind}: expected a value of values.ts`, { kind });
}

/** UTF-8 of a short string by hand; -1 when it holds a lone surrogate. */
function encodeShortUtf8(s: string, buffer: Uint8Array, start: number): number {
  let p = start;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      buffer[p++] = c;
    } else if (c < 0x800) {
      buffer[p++] = 0xc0 | (c >> 6);
      buffer[p++] = 0x80 | (c & 63);
    } else if ((c & 0xf800) !== 0xd800) {
      buffer[p++] = 0xe0 | (c >> 12);
      buffer[p++] = 0x80 | ((c >> 6) & 63);
      buffer[p++] = 0x80 | (c & 63);
    } else {
      const low = s.charCodeAt(i + 1);
      if (c > 0xdbff || (low & 0xfc00) !== 0xdc00) return -1;
      c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
      i++;
      buffer[p++] = 0xf0 | (c >> 18);
      buffer[p++] = 0x80 | ((c >> 12) & 63);
      buffer[p++] = 0x80 | ((c >> 6) & 63);
      buffer[p++] = 0x80 | (c & 63);
    }
  }
  return p - start;
}

/** UTF-8 of a long string by TextEncoder; -1 when it holds a lone surrogate. */
function encodeLongUtf8(s: string, buffer: Uint8Array, start: number): number {
  if (!(s as unknown as { isWellFormed(): boolean }).isWellFormed()) return -1;
  return encoder.encodeInto(s, buffer.subarray(start)).written;
}

function encodeUtf16(s: string, buffer: Uint8Array, start: number): number {
  let p = start;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    buffer[p++] = c & 0xff;
    buffer[p++] = c >>> 8;
  }
  return p - start;
}

export class Reader {
  private readonly buffer: Uint8Array;
  private readonly view: DataView;
  private position = 0;

  constructor(bytes: Uint8Array) {
    this.buffer = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** True when every byte has been read. */
  get done(): boolean {
    return this.position === this.buffer.length;
  }

  /** The number of bytes not yet read. */
  get remaining(): number {
    return this.buffer.length - this.position;
  }

  private corrupt(problem: string): never {
    throw new FactumError('storage/corrupt', `corrupt encoded value at byte ${this.position}: ${problem}`, {
      position: this.position,
      length: this.buffer.length,
    });
  }

  private need(bytes: number): void {
    if (bytes > this.buffer.length - this.position) {
      this.corrupt(`expected ${bytes} more bytes, ${this.buffer.length - this.position} left`);
    }
  }

  byte(): number {
    if (this.position >= this.buffer.length) this.corrupt('expected a byte, found the end');
    return this.buffer[this.position++]!;
  }

  uint(): number {
    const buffer = this.buffer;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (this.position >= buffer.length) this.corrupt('a varint runs past the end');
      const b = buffer[this.position++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (b === 0 && i > 0) this.corrupt('an overlong varint');
        if (result > Number.MAX_SAFE_INTEGER) this.corrupt('a varint beyond 2^53');
        return result;
      }
      scale *= 128;
    }
    return this.corrupt('a varint longer than 8 bytes');
  }

  int(): number {
    const first = this.byte();
    const low = first & 0x3f;
    const magnitude = (first & 0x80) === 0 ? low : this.intHigh(low);
    return (first & 0x40) === 0 ? magnitude : magnitude === 0 ? this.corrupt('negative zero int') : -magnitude;
  }

  private intHigh(low: number): number {
    const high = this.uint();
    if (high === 0) this.corrupt('an overlong int');
    const magnitude = high * 64 + low;
    if (magnitude > Number.MAX_SAFE_INTEGER) this.corrupt('an int beyond 2^53');
    return magnitude;
  }

  float64(): number {
    this.need(8);
    const x = this.view.getFloat64(this.position, true);
    this.position += 8;
    return x;
  }

  /** Length-prefixed bytes, as a copy. */
  bytes(): Uint8Array {
    return this.raw(this.uint());
  }

  /** `length` bytes, as a copy. */
  raw(length: number): Uint8Array {
    this.need(length);
    const result = this.buffer.slice(this.position, this.position + length);
    this.position += length;
    return result;
  }

  string(): string {
    const header = this.uint();
    const length = Math.floor(header / 2);
    this.need(length);
    const start = this.position;
    this.position += length;
    if (header % 2 === 1) return this.decodeUtf16(start, length);
    if (length <= shortStringMax) {
      const ascii = decodeAscii(this.buffer, start, length);
      if (ascii !== null) return ascii;
    }
    try {
      return decoder.decode(this.buffer.subarray(start, start + length));
    } catch {
      this.position = start;
      return this.corrupt('invalid UTF-8 in a string');
    }
  }

  private decodeUtf16(start: number, length: number): string {
    if (length % 2 === 1) this.corrupt('UTF-16 text with an odd number of bytes');
    let s = '';
    for (let i = start; i < start + length; i += 2) s += String.fromCharCode(this.buffer[i]! | (this.buffer[i + 1]! << 8));
    // The writer uses UTF-16 only for text UTF-8 cannot carry; anything else is not its output.
    if ((s as unknown as { isWellFormed(): boolean }).isWellFormed()) this.corrupt('UTF-16 text that is valid Unicode');
    return s;
  }

  /**
   * Keywords repeat, so their UTF-8 bytes are hashed and looked up in a small direct-mapped cache
   * compared byte for byte: a hit allocates nothing.
   */
  private keyword(): Keyword {
    const start = this.position;
    const header = this.uint();
    const length = header / 2;
    if (length > 40 || header % 2 === 1 || length > this.buffer.length - this.position) {
      this.position = start;
      return Keyword.of(this.string());
    }
    const buffer = this.buffer;
    const from = this.position;
    let hash = length;
    for (let i = from; i < from + length; i++) hash = (Math.imul(hash, 31) + buffer[i]!) | 0;
    const slot = hash & keywordSlotMask;
    const cached = keywordSlotBytes[slot];
    if (cached !== undefined && cached.length === length && bytesAt(buffer, from, cached)) {
      this.position = from + length;
      return keywordSlots[slot]!;
    }
    this.position = start;
    const keyword = Keyword.of(this.string());
    keywordSlotBytes[slot] = buffer.slice(from, from + length);
    keywordSlots[slot] = keyword;
    return keyword;
  }

  /** One value written by `Writer.value`. */
  value(): unknown {
    return this.valueAt(0);
  }

  private valueAt(depth: number): unknown {
    const tag = this.byte();
    if (tag >= SMALL_INT) return tag - SMALL_INT;
    switch (tag) {
      case NIL:
        return null;
      case FALSE:
        return false;
      case TRUE:
        return true;
      case INT_POSITIVE:
        return this.integer(1);
      case INT_NEGATIVE:
        return this.integer(-1);
      case FLOAT:
        return this.float();
      case BIGINT:
        return this.bigint();
      case STRING:
        return this.string();
      case KEYWORD:
        return this.keyword();
      case SYMBOL:
        return Sym.of(this.string());
      default:
        return this.composite(tag, depth);
    }
  }

  private composite(tag: number, depth: number): unknown {
    switch (tag) {
      case BIGDEC: {
        const scale = this.int();
        return new BigDec(this.bigint(), scale);
      }
      case INSTANT:
        return this.instant();
      case UUID:
        return this.uuid();
      case URI:
        return new Uri(this.string());
      case BYTES:
        return this.bytes();
      case TAGGED:
        return new Tagged(this.string(), this.valueAt(this.deeper(depth)));
      case VECTOR:
        return this.sequence(depth);
      case LIST:
        return new List(this.sequence(depth));
      case MAP:
        return this.map(depth);
      case SET:
        return this.set(depth);
      case OBJECT:
        return this.plainObject(depth);
      default:
        this.position--;
        return this.corrupt(`unknown value tag ${tag}`);
    }
  }

  private deeper(depth: number): number {
    if (depth >= nestingMax) this.corrupt(`values nest deeper than ${nestingMax} levels`);
    return depth + 1;
  }

  /** A FLOAT body; the writer encodes safe integers (other than -0) as integers. */
  private float(): number {
    const x = this.float64();
    if (Number.isSafeInteger(x) && !Object.is(x, -0)) this.corrupt(`a float holding the integer ${x}`);
    return x;
  }

  private integer(sign: number): number {
    const n = this.uint();
    if (sign > 0 ? n < 128 : n === 0) this.corrupt('a non-canonical integer');
    return sign * n;
  }

  private bigint(): bigint {
    const header = this.uint();
    const length = Math.floor(header / 2);
    const negative = header % 2 === 1;
    this.need(length);
    if (length === 0) return negative ? this.corrupt('negative zero bigint') : 0n;
    if (this.buffer[this.position] === 0) this.corrupt('a bigint with a leading zero byte');
    let hex = '0x';
    for (let i = 0; i < length; i++) hex += hexPairs[this.buffer[this.position++]!];
    const magnitude = BigInt(hex);
    return negative ? -magnitude : magnitude;
  }

  private instant(): Date {
    const ms = this.int();
    if (Math.abs(ms) > 8.64e15) this.corrupt(`instant ${ms} is outside the range of a Date`);
    return new Date(ms);
  }

  private uuid(): Uuid {
    this.need(16);
    let hex = '';
    for (let i = 0; i < 16; i++) {
      if (i === 4 || i === 6 || i === 8 || i === 10) hex += '-';
      hex += hexPairs[this.buffer[this.position++]!];
    }
    const uuid = Uuid.parse(hex);
    assert(uuid !== null, 'sixteen bytes always make a UUID');
    return uuid;
  }

  /** A count of items that each take at least `bytesMin` bytes, checked against the bytes left. */
  private count(bytesMin: number): number {
    const n = this.uint();
    if (n * bytesMin > this.buffer.length - this.position) this.corrupt(`a count of ${n} exceeds the bytes left`);
    return n;
  }

  private sequence(depth: number): unknown[] {
    const inner = this.deeper(depth);
    const n = this.count(1);
    const items = new Array<unknown>(n);
    for (let i = 0; i < n; i++) items[i] = this.valueAt(inner);
    return items;
  }

  private map(depth: number): Map<unknown, unknown> {
    const inner = this.deeper(depth);
    const n = this.count(2);
    const map = new Map<unknown, unknown>();
    for (let i = 0; i < n; i++) {
      const key = this.valueAt(inner);
      map.set(key, this.valueAt(inner));
    }
    if (map.size !== n) this.corrupt('a map with duplicate keys');
    return map;
  }

  private set(depth: number): Set<unknown> {
    const items = this.sequence(depth);
    const set = new Set(items);
    if (set.size !== items.length) this.corrupt('a set with duplicate elements');
    return set;
  }

  private plainObject(depth: number): Record<string, unknown> {
    const inner = this.deeper(depth);
    const n = this.count(2);
    const entries = new Array<[string, unknown]>(n);
    for (let i = 0; i < n; i++) entries[i] = [this.string(), this.valueAt(inner)];
    const object = Object.fromEntries(entries) as Record<string, unknown>;
    if (Object.keys(object).length !== n) this.corrupt('an object with duplicate keys');
    return object;
  }
}

const keywordSlotMask = 1023;
const keywordSlotBytes: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(keywordSlotMask + 1);
const keywordSlots: (Keyword | undefined)[] = new Array<Keyword | undefined>(keywordSlotMask + 1);

/** Whether `buffer` holds `bytes` at `from`. */
function bytesAt(buffer: Uint8Array, from: number, bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (buffer[from + i] !== bytes[i]) return false;
  return true;
}

const hexPairs: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function decodeAscii(buffer: Uint8Array, start: number, length: number): string | null {
  let s = '';
  for (let i = start; i < start + length; i++) {
    const b = buffer[i]!;
    if (b >= 0x80) return null;
    s += String.fromCharCode(b);
  }
  return s;
}

/** The bytes of one value. */
export function encodeValue(v: unknown): Uint8Array {
  const writer = new Writer(64);
  writer.value(v);
  return writer.finish();
}

/** The value encoded in `bytes`, which must hold exactly one value. */
export function decodeValue(bytes: Uint8Array): unknown {
  const reader = new Reader(bytes);
  const v = reader.value();
  if (!reader.done) fail('storage/corrupt', `corrupt encoded value: ${reader.remaining} bytes after the value`, { length: bytes.length });
  return v;
}
