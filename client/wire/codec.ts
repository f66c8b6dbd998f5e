//! The wire codec between a node and its remote clients: every value of values.ts, and plain JS
//! objects (pull results, tempid maps, request and response envelopes), as one MessagePack
//! message, built on msgpackr. Lossless: `decode(encode(v))` is `ednEqual` to `v`.
//!
//!   value                      on the wire
//!   null, boolean              nil, bool
//!   number                     int when a 32-bit integer, else float64 (NaN, ±Infinity too);
//!                              -0 is ext 10 (msgpackr alone writes it as the int 0)
//!   bigint                     int64 / uint64, or msgpackr's ext 0x42 beyond 64 bits; always
//!                              read back as a bigint, a number never is one
//!   string                     str (UTF-8); a string holding a lone surrogate, which UTF-8 cannot
//!                              carry, is ext 11 (its UTF-16 code units)
//!   Uint8Array                 bin (read back as a plain Uint8Array, never a Node Buffer)
//!   Array                      array
//!   plain object               msgpackr record (see below); ext 12 (key, value, …) when a key is
//!                              `__proto__` or holds a lone surrogate
//!   Map                        map (any keys)
//!   undefined                  msgpackr's ext 0, wherever it is: a key whose value is undefined
//!                              is kept, not dropped
//!   Keyword 1  Sym 2  BigDec 3 [unscaled, scale]  List 4 [items]  Set 5 [elements]
//!   Date 6 (ms since epoch; an invalid Date travels as NaN and comes back an invalid Date)
//!   Uuid 7 (16 raw bytes)  Uri 8  Tagged 9 [tag, value]
//!
//! Records: a plain object is written as a record (its keys once, then its values), so an array
//! of same-shaped objects (pull results) carries the keys once per message, not once per row:
//! about 4× smaller and 3× faster to read than msgpack maps (bench/wire.bench.ts). Record
//! definitions travel inside each message and the encoder shares no structures between calls, so
//! every message is self-contained: the two ends are different processes and may restart.
//!
//! msgpackr has no hook for primitives, so `encode` first walks the value: it checks every kind
//! (anything else throws `wire/unsupported-value` naming its type) and looks for the few things
//! msgpackr would lose (-0, lone surrogates, a `__proto__` key). Only a value holding one of them
//! is copied with markers in their place; everything else goes to msgpackr as it is.
//!
//! Decoding trusts nothing: truncated bytes, trailing bytes, an unknown extension, an extension
//! whose payload is not what it must be, or the never-used byte 0xc1 (which msgpackr reads as a
//! marker object, found by a walk of the decoded value) throw `wire/malformed`. Known limits: a msgpack map with
//! two equal keys keeps the last one, and a Set is checked for duplicate primitives only (an EDN
//! set of composite values would need ednEqual, which this light module does not import).
//!
//! msgpackr's extension registry is global to the process. This module registers its types, and
//! makes the built-in extensions a wire message never holds (Error, RegExp, typed arrays other than
//! bytes, msgpack timestamps, bundled strings) throw when read, so that bad bytes cannot
//! turn into values outside values.ts. Nothing else in factum uses msgpackr directly.
import { addExtension, C1, Packr, Unpackr } from 'msgpackr';
import { FactumError } from '../../nodes/util/errors.ts';
import { BigDec, Keyword, List, Sym, Tagged, Uri, Uuid } from '../../nodes/values/values.ts';

/** The bytes of one message holding `value`. Throws `wire/unsupported-value` for a value of another kind. */
export function encode(value: unknown): Uint8Array {
  const prepared = isSafe(value, 0) ? value : prepare(value, 0);
  let packed: Uint8Array;
  try {
    packed = packr.pack(prepared);
  } catch (error) {
    if (error instanceof FactumError) throw error;
    throw new FactumError('wire/unsupported-value', `cannot encode the value for the wire: ${describe(error)}`, {}, { cause: error });
  }
  // msgpackr answers a Node Buffer over its own shared memory (which it never writes again); a
  // plain view of it keeps the promise of a Uint8Array, which compares and serializes as one.
  return new Uint8Array(packed.buffer, packed.byteOffset, packed.byteLength);
}

/** The value of one message. Throws `wire/malformed` when `bytes` are not exactly one well-formed message. */
export function decode(bytes: Uint8Array): unknown {
  if (!(bytes instanceof Uint8Array)) malformed(`expected the bytes of a message as a Uint8Array, got ${typeOf(bytes)}`, {});
  if (bytes.length === 0) malformed('expected the bytes of a message, got 0 bytes', { length: 0 });
  // A plain Uint8Array view, so that decoded bytes are Uint8Arrays too (a Buffer source would make
  // them Buffers, which compare differently); copyBuffers makes them own their memory.
  const source = bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let value: unknown;
  try {
    value = unpackr.unpack(source);
  } catch (error) {
    if (error instanceof FactumError && error.code === 'wire/malformed') throw error;
    throw new FactumError('wire/malformed', `malformed wire message of ${bytes.length} bytes: ${describe(error)}`, { length: bytes.length }, { cause: error });
  }
  // msgpackr reads the never-used byte 0xc1 as a marker object instead of failing, so the value is
  // walked to find it; a message without the byte anywhere skips the walk. (UTF-8 never holds
  // 0xc1, but float64 and bin payloads may: a chunk of datoms with entity ids usually does.)
  if (source.indexOf(0xc1) >= 0) rejectNeverUsed(value, bytes.length);
  return value;
}

/** Extension types: msgpack's application range 0–127, avoiding msgpackr's own (0, 0x42, 0x62, 0x65, 0x69, 0x70, 0x72–0x78). */
export const extensionTypes = {
  keyword: 1,
  symbol: 2,
  bigDec: 3,
  list: 4,
  set: 5,
  date: 6,
  uuid: 7,
  uri: 8,
  tagged: 9,
  negativeZero: 10,
  unpairedString: 11,
  objectEntries: 12,
} as const;

/** How deep values may nest when encoded: deeper is almost surely a cycle. */
export const nestingMax = 1000;

// Markers standing for what msgpackr cannot write itself; only `prepare` makes them.

/** -0 (a number, so that msgpackr cannot be told apart from 0 without a class). */
class NegativeZero {}
const negativeZero = new NegativeZero();

/** A string with a lone surrogate: carried as UTF-16LE code units. */
class UnpairedString {
  constructor(readonly text: string) {}
}

/** A plain object whose keys a record cannot carry: `[key, value, key, value, …]`. */
class ObjectEntries {
  constructor(readonly entries: unknown[]) {}
}

const packr = new Packr({
  useRecords: true, // plain objects as records: keys once per shape (see the header)
  mapsAsObjects: false, // so a msgpack map is always a Map, never confused with a plain object
  useBigIntExtension: true, // bigints beyond 64 bits
  useToJSON: false, // values.ts classes have toJSON for JSON; the wire has extensions instead
  moreTypes: false, // Set and typed arrays are not written with msgpackr's own types
  structuredClone: false,
});

const unpackr = new Unpackr({
  useRecords: true,
  mapsAsObjects: false,
  structuredClone: false, // reject msgpackr's reference extensions (0x69, 0x70)
  copyBuffers: true,
  int64AsType: 'bigint',
});

function malformed(message: string, data: Record<string, unknown>): never {
  throw new FactumError('wire/malformed', message, data);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  const name = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor?.name;
  return name === undefined || name === '' ? 'an object' : `an instance of ${name}`;
}

/** Throws `wire/malformed` if msgpackr's marker for the never-used byte 0xc1 is in `value`. */
function rejectNeverUsed(value: unknown, length: number): void {
  if (typeof value !== 'object' || value === null) return;
  if (value === C1) malformed(`malformed wire message of ${length} bytes: it holds the never-used MessagePack byte 0xc1`, { length });
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) rejectNeverUsed(value[i], length);
  } else if (value instanceof Map) {
    for (const [key, item] of value) {
      rejectNeverUsed(key, length);
      rejectNeverUsed(item, length);
    }
  } else if (value instanceof Set) {
    for (const item of value) rejectNeverUsed(item, length);
  } else if (value instanceof List) {
    rejectNeverUsed(value.items, length);
  } else if (value instanceof Tagged) {
    rejectNeverUsed(value.value, length);
  } else if (isPlainPrototype(Object.getPrototypeOf(value))) {
    const object = value as Record<string, unknown>;
    for (const key in object) rejectNeverUsed(object[key], length);
  }
}

// -- the walk before encoding ---------------------------------------------------------------

const isWellFormed = (text: string): boolean => (text as unknown as { isWellFormed(): boolean }).isWellFormed();

function unsupported(value: unknown, depth: number): never {
  if (depth > nestingMax) {
    throw new FactumError('wire/unsupported-value', `cannot encode a value nested deeper than ${nestingMax} levels (is it cyclic?)`, { nestingMax });
  }
  const text = typeof value === 'symbol' ? value.toString() : typeof value === 'function' ? `function ${value.name}` : typeOf(value);
  throw new FactumError(
    'wire/unsupported-value',
    `cannot encode ${text} for the wire: expected null, a boolean, number, bigint, string, Keyword, Sym, BigDec, List, Array, Map, Set, Date, Uuid, Uri, Uint8Array, Tagged or a plain object`,
    { type: typeof value === 'object' ? typeOf(value) : typeof value },
  );
}

function isPlainPrototype(prototype: unknown): boolean {
  return prototype === Object.prototype || prototype === null;
}

/**
 * Whether msgpackr can write `value` as it is. Throws `wire/unsupported-value` for a value of a
 * kind the wire does not carry. Keywords, symbols, Uris and tags check their own text when written.
 */
function isSafe(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
      return isWellFormed(value);
    case 'number':
      return value !== 0 || 1 / value > 0;
    case 'boolean':
    case 'bigint':
    case 'undefined':
      return true;
    case 'object':
      return value === null || isSafeObject(value, depth);
    default:
      return unsupported(value, depth);
  }
}

function isSafeObject(value: object, depth: number): boolean {
  if (depth >= nestingMax) unsupported(value, depth + 1);
  let safe = true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!isSafe(value[i], depth + 1)) safe = false;
    return safe;
  }
  const prototype = Object.getPrototypeOf(value);
  if (isPlainPrototype(prototype)) {
    const object = value as Record<string, unknown>;
    for (const key in object) {
      if (key === '__proto__' || !isWellFormed(key)) safe = false;
      if (!isSafe(object[key], depth + 1)) safe = false;
    }
    return safe;
  }
  if (value instanceof Keyword || value instanceof Sym || value instanceof Uri || value instanceof Uuid || value instanceof BigDec) return true;
  if (value instanceof Date || value instanceof Uint8Array) return true;
  if (value instanceof List) return isSafe(value.items, depth);
  if (value instanceof Tagged) return isSafe(value.value, depth + 1);
  if (value instanceof Map) {
    for (const [key, item] of value) if (!isSafe(key, depth + 1) || !isSafe(item, depth + 1)) safe = false;
    return safe;
  }
  if (value instanceof Set) {
    for (const item of value) if (!isSafe(item, depth + 1)) safe = false;
    return safe;
  }
  return unsupported(value, depth);
}

/** A copy of `value` with markers where msgpackr would lose something (rare: see isSafe). */
function prepare(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return isWellFormed(value) ? value : new UnpairedString(value);
  if (typeof value === 'number') return value === 0 && 1 / value < 0 ? negativeZero : value;
  if (typeof value !== 'object' || value === null) return value;
  const next = depth + 1;
  if (Array.isArray(value)) return value.map((item) => prepare(item, next));
  if (isPlainPrototype(Object.getPrototypeOf(value))) return prepareObject(value as Record<string, unknown>, next);
  if (value instanceof List) return new List(value.items.map((item) => prepare(item, next)));
  if (value instanceof Tagged) return new Tagged(value.tag, prepare(value.value, next));
  if (value instanceof Map) return new Map([...value].map(([key, item]) => [prepare(key, next), prepare(item, next)]));
  if (value instanceof Set) return new Set([...value].map((item) => prepare(item, next)));
  return value;
}

function prepareObject(object: Record<string, unknown>, depth: number): unknown {
  let recordable = true;
  for (const key in object) if (key === '__proto__' || !isWellFormed(key)) recordable = false;
  if (recordable) {
    const copy: Record<string, unknown> = {};
    for (const key in object) copy[key] = prepare(object[key], depth);
    return copy;
  }
  const entries: unknown[] = [];
  for (const key in object) entries.push(prepare(key, depth), prepare(object[key], depth));
  return new ObjectEntries(entries);
}

// -- extensions -------------------------------------------------------------------------------

/** Text inside an extension: a lone surrogate travels as an UnpairedString (ext 11). */
const text = (value: string): unknown => (isWellFormed(value) ? value : new UnpairedString(value));

function expectString(value: unknown, kind: string): string {
  if (typeof value !== 'string') malformed(`malformed ${kind}: expected its text as a string, got ${typeOf(value)}`, { kind });
  return value;
}

function expectArray(value: unknown, kind: string, length?: number): unknown[] {
  if (!Array.isArray(value) || (length !== undefined && value.length !== length)) {
    const what = length === undefined ? 'an array' : `an array of ${length}`;
    malformed(`malformed ${kind}: expected ${what}, got ${Array.isArray(value) ? `an array of ${value.length}` : typeOf(value)}`, { kind });
  }
  return value;
}

const hex: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function uuidBytes(uuid: Uuid): Uint8Array {
  const digits = uuid.text.replaceAll('-', '');
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i++) bytes[i] = parseInt(digits.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

function uuidOf(bytes: Uint8Array): Uuid {
  if (bytes.length !== 16) malformed(`malformed Uuid: expected 16 bytes, got ${bytes.length}`, { length: bytes.length });
  let digits = '';
  for (let i = 0; i < 16; i++) digits += (i === 4 || i === 6 || i === 8 || i === 10 ? '-' : '') + hex[bytes[i]!];
  return Uuid.parse(digits)!;
}

function unpairedStringBytes(marker: UnpairedString): Uint8Array {
  const bytes = new Uint8Array(marker.text.length * 2);
  for (let i = 0; i < marker.text.length; i++) {
    const unit = marker.text.charCodeAt(i);
    bytes[i * 2] = unit & 0xff;
    bytes[i * 2 + 1] = unit >> 8;
  }
  return bytes;
}

function unpairedStringOf(bytes: Uint8Array): string {
  if (bytes.length % 2 !== 0) malformed(`malformed UTF-16 string: expected an even number of bytes, got ${bytes.length}`, { length: bytes.length });
  let out = '';
  for (let i = 0; i < bytes.length; i += 2) out += String.fromCharCode(bytes[i]! | (bytes[i + 1]! << 8));
  return out;
}

function bigDecOf(value: unknown): BigDec {
  const [unscaled, scale] = expectArray(value, 'BigDec', 2);
  if (typeof unscaled !== 'bigint' || typeof scale !== 'number' || !Number.isSafeInteger(scale)) {
    malformed(`malformed BigDec: expected [bigint unscaled, integer scale], got [${typeOf(unscaled)}, ${String(scale)}]`, {});
  }
  return new BigDec(unscaled, scale);
}

function setOf(value: unknown): Set<unknown> {
  const items = expectArray(value, 'Set');
  const set = new Set(items);
  if (set.size !== items.length) malformed(`malformed Set: ${items.length - set.size} duplicate elements`, { size: items.length });
  return set;
}

function dateOf(value: unknown): Date {
  // TimeClip's range (±8.64e15 ms), and NaN for an invalid Date.
  if (typeof value !== 'number' || !(Number.isInteger(value) ? Math.abs(value) <= 8.64e15 : Number.isNaN(value))) {
    malformed(`malformed Date: expected integer milliseconds within ±8.64e15 or NaN, got ${typeof value === 'number' ? value : typeOf(value)}`, {});
  }
  return new Date(value);
}

function taggedOf(value: unknown): Tagged {
  const [tag, inner] = expectArray(value, 'Tagged', 2);
  return new Tagged(expectString(tag, 'Tagged tag'), inner);
}

function objectOf(value: unknown): Record<string, unknown> {
  const entries = expectArray(value, 'object entries');
  if (entries.length % 2 !== 0) malformed(`malformed object entries: expected key/value pairs, got ${entries.length} items`, {});
  const object: Record<string, unknown> = {};
  for (let i = 0; i < entries.length; i += 2) {
    // defineProperty, so that a `__proto__` key is an own property and not the prototype.
    Object.defineProperty(object, expectString(entries[i], 'object key'), { value: entries[i + 1], enumerable: true, writable: true, configurable: true });
  }
  return object;
}

/** msgpackr types a wire message never holds: reading one is an error, not a value. */
const foreignTypes: ReadonlyArray<readonly [number, string]> = [
  [0x62, 'bundled strings'],
  [0x65, 'an Error'],
  [0x78, 'a RegExp'],
  [0x74, 'a typed array'],
  [0xff, 'a msgpack timestamp'],
];

function registerExtensions(): void {
  addExtension({ Class: Keyword, type: extensionTypes.keyword, write: (k: Keyword) => text(k.fqn), read: (v: unknown) => Keyword.of(expectString(v, 'Keyword')) });
  addExtension({ Class: Sym, type: extensionTypes.symbol, write: (s: Sym) => text(s.fqn), read: (v: unknown) => Sym.of(expectString(v, 'Sym')) });
  addExtension({ Class: BigDec, type: extensionTypes.bigDec, write: (d: BigDec) => [d.unscaled, d.scale], read: bigDecOf });
  addExtension({ Class: List, type: extensionTypes.list, write: (l: List) => l.items, read: (v: unknown) => new List(expectArray(v, 'List')) });
  addExtension({ Class: Set, type: extensionTypes.set, write: (s: Set<unknown>) => [...s], read: setOf });
  addExtension({ Class: Date, type: extensionTypes.date, write: (d: Date) => d.getTime(), read: dateOf });
  addExtension({ Class: Uuid, type: extensionTypes.uuid, pack: uuidBytes, unpack: uuidOf });
  addExtension({ Class: Uri, type: extensionTypes.uri, write: (u: Uri) => text(u.text), read: (v: unknown) => new Uri(expectString(v, 'Uri')) });
  addExtension({ Class: Tagged, type: extensionTypes.tagged, write: (t: Tagged) => [text(t.tag), t.value], read: taggedOf });
  addExtension({
    Class: NegativeZero,
    type: extensionTypes.negativeZero,
    write: () => 0,
    read: (v: unknown) => (v === 0 ? -0 : malformed(`malformed -0: expected the payload 0, got ${String(v)}`, {})),
  });
  addExtension({ Class: UnpairedString, type: extensionTypes.unpairedString, pack: unpairedStringBytes, unpack: unpairedStringOf });
  addExtension({ Class: ObjectEntries, type: extensionTypes.objectEntries, write: (o: ObjectEntries) => o.entries, read: objectOf });
  for (const [type, what] of foreignTypes) {
    addExtension({ type, unpack: () => malformed(`unexpected extension type ${type} (${what}), which the wire never carries`, { type }) });
  }
}

registerExtensions();

/** A record's fields as the wire can carry them: a value the codec cannot encode becomes its text (error data). */
export function encodableFields(data: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(data)) {
    try {
      encode(value);
      out[name] = value;
    } catch {
      out[name] = String(value);
    }
  }
  return out;
}
