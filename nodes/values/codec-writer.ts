//! The Writer of the binary value codec: appends values to a growable byte array. The format is
//! described in codec.ts.
import { AssertionError } from '../util/assert.ts';
import { fail } from '../util/errors.ts';
import { NIL, FALSE, TRUE, INT_POSITIVE, INT_NEGATIVE, FLOAT, BIGINT, STRING, KEYWORD, SYMBOL, BIGDEC, INSTANT, UUID, URI, BYTES, VECTOR, LIST, MAP, SET, TAGGED, OBJECT, SMALL_INT, nestingMax, shortStringMax } from './codec-format.ts';
import { BigDec, Keyword, List, Sym, Tagged, Uri, Uuid } from './values.ts';

const encoder = new TextEncoder();

function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Writes `n` (a safe non-negative integer) as a varint at `p` (room checked); returns the end. */
function writeVarint(buffer: Uint8Array, p: number, n: number): number {
  while (n > 0x7fffffff) {
    buffer[p++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  while (n >= 0x80) {
    buffer[p++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buffer[p++] = n;
  return p;
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
    if (!Number.isSafeInteger(n) || n < 0) throw new AssertionError(`uint expects a safe non-negative integer, got ${n}`);
    this.ensure(8);
    this.position = writeVarint(this.buffer, this.position, n);
  }

  int(n: number): void {
    if (!Number.isSafeInteger(n)) throw new AssertionError(`int expects a safe integer, got ${n}`);
    this.ensure(9);
    const buffer = this.buffer;
    // The first byte: 6 bits of the magnitude, the sign (0x40), more to come (0x80); then uint.
    if (n > -64 && n < 64) {
      buffer[this.position++] = n < 0 ? -n | 0x40 : n;
      return;
    }
    const negative = n < 0;
    const magnitude = negative ? -n : n;
    buffer[this.position] = (magnitude % 64) | (negative ? 0x40 : 0) | 0x80;
    this.position = writeVarint(buffer, this.position + 1, Math.floor(magnitude / 64));
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
