//! The columnar encoding of a sorted run of datoms: the body of a leaf, and the first keys of a branch.
//!
//!   uint   n
//!   e      n signed varints: each e minus the previous one (the first minus 0)
//!   a      n signed varints, deltas likewise
//!   t      n signed varints, deltas likewise (t, not the tx id: the tx partition is implied)
//!   added  1 byte: 0 all assertions, 1 all retractions, 2 a bitmap of ceil(n/8) bytes follows
//!   v      a bitmap of ceil(n/8) bytes, bit i set when value i repeats value i-1 (the same value
//!          written the same way, one object or not: `ednEqual`, so the bytes depend on the
//!          values alone); then the values that do not repeat, each in the value codec
//!
//! Within a leaf the leading components of an index are sorted, so their deltas are mostly 0 or
//! small: a run of datoms sharing a prefix (one entity in EAVT, one attribute in AEVT/AVET) pays
//! one byte per shared numeric component, and a repeated value one bit. Columns also put alike
//! bytes together, which the compressor of the envelope exploits. Decoding trusts nothing: a count
//! beyond the bytes left, an id that is not a safe non-negative integer, or trailing bytes are
//! `storage/corrupt`.
import type { Datom } from '../datom/datom.ts';
import { txOfT, tOfTx } from '../datom/datom.ts';
import type { Reader, Writer } from '../values/codec.ts';
import { FactumError } from '../util/errors.ts';
import { ednEqual } from '../edn/edn-equal.ts';

/** A datom decoded from a segment. */
export class SegmentDatom implements Datom {
  constructor(
    readonly e: number,
    readonly a: number,
    readonly v: unknown,
    readonly tx: number,
    readonly added: boolean,
  ) {}
}

/** Each value minus the one before it (the first minus 0), as signed varints. */
function writeDeltas(writer: Writer, values: Float64Array): void {
  let previous = 0;
  for (let i = 0; i < values.length; i++) {
    const n = values[i]!;
    writer.int(n - previous);
    previous = n;
  }
}

export function writeDatomColumns(writer: Writer, datoms: readonly Datom[]): void {
  const n = datoms.length;
  writer.uint(n);
  // The numeric columns gathered in one pass over the datoms (one property read site each).
  const e = new Float64Array(n);
  const a = new Float64Array(n);
  const t = new Float64Array(n);
  let assertions = 0;
  for (let i = 0; i < n; i++) {
    const datom = datoms[i]!;
    e[i] = datom.e;
    a[i] = datom.a;
    t[i] = tOfTx(datom.tx);
    if (datom.added) assertions++;
  }
  writeDeltas(writer, e);
  writeDeltas(writer, a);
  writeDeltas(writer, t);
  if (assertions === n) writer.byte(0);
  else if (assertions === 0) writer.byte(1);
  else {
    writer.byte(2);
    writer.raw(bitmap(n, (i) => datoms[i]!.added));
  }
  const values = new Array<unknown>(n);
  for (let i = 0; i < n; i++) values[i] = datoms[i]!.v;
  writer.raw(bitmap(n, (i) => i > 0 && ednEqual(values[i - 1], values[i])));
  for (let i = 0; i < n; i++) if (i === 0 || !ednEqual(values[i - 1], values[i])) writer.value(values[i]);
}

function bitmap(n: number, bit: (i: number) => boolean): Uint8Array {
  const bytes = new Uint8Array(Math.ceil(n / 8));
  for (let i = 0; i < n; i++) if (bit(i)) bytes[i >> 3]! |= 1 << (i & 7);
  return bytes;
}

function isSet(bytes: Uint8Array, i: number): boolean {
  return (bytes[i >> 3]! & (1 << (i & 7))) !== 0;
}

function corrupt(address: string, problem: string): never {
  throw new FactumError('storage/corrupt', `segment ${address} is corrupt: ${problem}`, { key: address });
}

function readDeltas(reader: Reader, n: number, address: string, what: string): Float64Array {
  const out = new Float64Array(n);
  let previous = 0;
  for (let i = 0; i < n; i++) {
    previous += reader.int();
    if (!Number.isSafeInteger(previous) || previous < 0) corrupt(address, `${what} ${previous} of datom ${i} is not a non-negative integer`);
    out[i] = previous;
  }
  return out;
}

/** The columns of a run of datoms, all but the values (which the reader is left at). */
interface Columns {
  readonly n: number;
  readonly e: Float64Array;
  readonly a: Float64Array;
  readonly t: Float64Array;
  /** 0 all assertions, 1 all retractions, 2 `added` says. */
  readonly form: number;
  readonly added: Uint8Array | null;
  readonly repeated: Uint8Array;
}

function readColumns(reader: Reader, address: string): Columns {
  const n = reader.uint();
  // Each datom takes at least three bytes (its e, a and t deltas).
  if (n * 3 > reader.remaining) corrupt(address, `a count of ${n} datoms exceeds the ${reader.remaining} bytes left`);
  const e = readDeltas(reader, n, address, 'entity id');
  const a = readDeltas(reader, n, address, 'attribute id');
  const t = readDeltas(reader, n, address, 't');
  const form = reader.byte();
  if (form > 2) corrupt(address, `unknown form ${form} of the added column`);
  const added = form === 2 ? reader.raw(Math.ceil(n / 8)) : null;
  const repeated = reader.raw(Math.ceil(n / 8));
  if (n > 0 && isSet(repeated, 0)) corrupt(address, 'the first value is marked as a repeat');
  return { n, e, a, t, form, added, repeated };
}

export function readDatomColumns(reader: Reader, address: string): SegmentDatom[] {
  const { n, e, a, t, form, added, repeated } = readColumns(reader, address);
  const datoms = new Array<SegmentDatom>(n);
  let v: unknown = null;
  for (let i = 0; i < n; i++) {
    if (!isSet(repeated, i)) v = reader.value();
    const isAdded = added === null ? form === 0 : isSet(added, i);
    datoms[i] = new SegmentDatom(e[i]!, a[i]!, v, txOfT(t[i]!), isAdded);
  }
  return datoms;
}

/**
 * Decodes what `writeDatomColumns` wrote, as `readDatomColumns` does, and compares it with the
 * datoms written, without building datoms: null when every one comes back (values by
 * `ednEqual`), else what differs. The check made before a segment is written (node-codec.ts).
 */
export function checkDatomColumns(reader: Reader, datoms: readonly Datom[]): string | null {
  const { n, e, a, t, form, added, repeated } = readColumns(reader, '(a segment being written)');
  if (n !== datoms.length) return `${n} keys, not ${datoms.length}`;
  let v: unknown = null;
  for (let i = 0; i < n; i++) {
    if (!isSet(repeated, i)) v = reader.value();
    const datom = datoms[i]!;
    const isAdded = added === null ? form === 0 : isSet(added, i);
    if (e[i] !== datom.e || a[i] !== datom.a || txOfT(t[i]!) !== datom.tx || isAdded !== datom.added || !ednEqual(v, datom.v)) return `key ${i}`;
  }
  return null;
}
