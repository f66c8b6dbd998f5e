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
//!
//! Files: codec-format.ts (tags), codec-writer.ts, codec-reader.ts; this module is the surface.
import { fail } from '../util/errors.ts';
import { Reader } from './codec-reader.ts';
import { Writer } from './codec-writer.ts';

export { nestingMax } from './codec-format.ts';
export { Reader } from './codec-reader.ts';
export { Writer } from './codec-writer.ts';

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
