//! Checks a value against an attribute's value type and returns its stored form.
//!
//! The stored form is canonical, so that index order and equality never depend on how a value was
//! written: a `long` is a number when safe and a bigint beyond 2^53, a `bigint` is always a
//! bigint, a `float` is rounded to 32 bits, tuples are frozen arrays.
import type { Attribute, ValueType } from '../db/database.ts';
import { describe } from '../db/db.ts';
import { fail } from '../util/errors.ts';
import { BigDec, Keyword, Sym, Uri, Uuid } from '../values/values.ts';

/** Datomic Cloud's limit on strings; also applied to bytes and symbols. */
export const VALUE_CHARS_MAX = 4096;
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

function wrongType(attribute: Attribute | string, expected: string, value: unknown): never {
  const name = typeof attribute === 'string' ? attribute : attribute.ident.toString();
  return fail('value/wrong-type', `Value ${describe(value)} for ${name} is not a ${expected}.`, { attribute: name, value, expected });
}

function tooLarge(attribute: Attribute, value: unknown, size: number): never {
  return fail('value/too-large', `Value for ${attribute.ident} is ${size} long; the limit is ${VALUE_CHARS_MAX}.`, { attribute: attribute.ident.toString(), size, limit: VALUE_CHARS_MAX });
}

/** Coerces a scalar of `type`; refs are resolved by the caller and arrive here as numbers. */
export function coerceScalar(attribute: Attribute, type: ValueType, value: unknown): unknown {
  switch (type) {
    case 'string':
      if (typeof value !== 'string') wrongType(attribute, 'string', value);
      if (value.length > VALUE_CHARS_MAX) tooLarge(attribute, value, value.length);
      return value;
    case 'long':
      if (typeof value === 'number') {
        if (!Number.isSafeInteger(value)) wrongType(attribute, 'long (an integer; beyond 2^53 pass a bigint)', value);
        return value;
      }
      if (typeof value === 'bigint') {
        if (value < LONG_MIN || value > LONG_MAX) wrongType(attribute, 'long (64-bit signed)', value);
        return Number.isSafeInteger(Number(value)) && BigInt(Number(value)) === value ? Number(value) : value;
      }
      return wrongType(attribute, 'long', value);
    case 'bigint':
      if (typeof value === 'bigint') return value;
      if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
      return wrongType(attribute, 'bigint', value);
    case 'double':
      if (typeof value !== 'number') wrongType(attribute, 'double', value);
      return value;
    case 'float':
      if (typeof value !== 'number') wrongType(attribute, 'float', value);
      return Math.fround(value);
    case 'boolean':
      if (typeof value !== 'boolean') wrongType(attribute, 'boolean', value);
      return value;
    case 'keyword':
      if (!(value instanceof Keyword)) wrongType(attribute, 'keyword (use kw("ns/name") in JS data)', value);
      return value;
    case 'symbol':
      if (!(value instanceof Sym)) wrongType(attribute, 'symbol', value);
      return value;
    case 'bigdec':
      if (!(value instanceof BigDec)) wrongType(attribute, 'bigdec (a BigDec, e.g. 1.50M in EDN)', value);
      return value;
    case 'instant':
      if (!(value instanceof Date) || Number.isNaN(value.getTime())) wrongType(attribute, 'instant (a valid Date)', value);
      return value;
    case 'uuid':
      if (!(value instanceof Uuid)) wrongType(attribute, 'uuid', value);
      return value;
    case 'uri':
      if (!(value instanceof Uri)) wrongType(attribute, 'uri', value);
      return value;
    case 'bytes':
      if (!(value instanceof Uint8Array)) wrongType(attribute, 'bytes (a Uint8Array)', value);
      if (value.length > VALUE_CHARS_MAX) tooLarge(attribute, value, value.length);
      return value;
    case 'ref':
      if (typeof value !== 'number') wrongType(attribute, 'ref', value);
      return value;
    case 'tuple':
      return wrongType(attribute, 'tuple element (tuples do not nest)', value);
  }
}

/** Coerces a tuple value of a homogeneous or heterogeneous tuple attribute. */
export function coerceTuple(attribute: Attribute, value: unknown): readonly unknown[] {
  if (!Array.isArray(value)) wrongType(attribute, 'tuple (an array)', value);
  if (attribute.tupleAttrs !== null) {
    fail('transact/malformed', `${attribute.ident} is a composite tuple; factum maintains it from ${attribute.tupleAttrs.length} attributes, so it cannot be asserted.`, { attribute: attribute.ident.toString(), value });
  }
  const types = attribute.tupleTypes;
  if (types !== null && value.length !== types.length) {
    wrongType(attribute, `tuple of ${types.length} elements`, value);
  }
  if (types === null && (value.length < 2 || value.length > 8)) wrongType(attribute, 'tuple of 2 to 8 elements', value);
  return Object.freeze(
    value.map((element, i) => {
      if (element === null || element === undefined) return null;
      const type = types !== null ? types[i]! : attribute.tupleType ?? 'string';
      return coerceScalar(attribute, type, element);
    }),
  );
}
