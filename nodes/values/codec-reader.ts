//! The Reader of the binary value codec. It trusts nothing: every length is checked against the
//! bytes left before anything is allocated, nesting is bounded, and any inconsistency throws
//! `storage/corrupt`. The format is described in codec.ts.
import { assert } from '../util/assert.ts';
import { FactumError } from '../util/errors.ts';
import { NIL, FALSE, TRUE, INT_POSITIVE, INT_NEGATIVE, FLOAT, BIGINT, STRING, KEYWORD, SYMBOL, BIGDEC, INSTANT, UUID, URI, BYTES, VECTOR, LIST, MAP, SET, TAGGED, OBJECT, SMALL_INT, nestingMax, shortStringMax } from './codec-format.ts';
import { BigDec, Keyword, List, Sym, Tagged, Uri, Uuid } from './values.ts';

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

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
