//! The datom table: every datom of the memory index stored once, in columns, addressed by row.
//!
//! The four index trees (and their history trees) hold only row numbers (4 bytes each), so a datom
//! costs one row (~24 bytes: e 8, a 4, t 4, v 8) plus 4 bytes per index it is in, instead of an
//! object per datom and a pointer per index.
//!
//!   row:   0    1    2    ...        rows live in chunks of 1024; a chunk is never moved
//!   e   [ 17 | 17 | 18 | ...]        Float64Array (entity ids are up to 2^53)
//!   a   [ 10 | 11 | 10 | ...]        Int32Array (attribute ids are small)
//!   t   [  6 |  6 | -7 | ...]        Int32Array: t + 1, negated for a retraction (t 0 is the bootstrap)
//!   v   [ "x"| 42 | "y"| ...]        Array of values
//!
//! Rows are immutable once appended. A table is shared by a db value and every db value derived
//! from it by appending; a db value derived from an older one (`with` on a past value) forks: it
//! shares the full chunks and copies the partial one, so no db value ever sees another's rows.
import type { Datom } from '../datom/datom.ts';
import { txOfT } from '../datom/datom.ts';

export const CHUNK_BITS = 10;
const CHUNK_SIZE = 1 << CHUNK_BITS;
export const CHUNK_MASK = CHUNK_SIZE - 1;

/** Rows [n * 1024, (n + 1) * 1024) of a table; comparators read its columns directly. */
export class Chunk {
  readonly e = new Float64Array(CHUNK_SIZE);
  readonly a = new Int32Array(CHUNK_SIZE);
  readonly t = new Int32Array(CHUNK_SIZE);
  readonly v: unknown[] = new Array(CHUNK_SIZE).fill(null);

  copy(length: number): Chunk {
    const c = new Chunk();
    c.e.set(this.e.subarray(0, length));
    c.a.set(this.a.subarray(0, length));
    c.t.set(this.t.subarray(0, length));
    for (let i = 0; i < length; i++) c.v[i] = this.v[i];
    return c;
  }
}

/** A materialised datom, made on demand from a row. */
export class RowDatom implements Datom {
  constructor(
    readonly e: number,
    readonly a: number,
    readonly v: unknown,
    readonly tx: number,
    readonly added: boolean,
  ) {}
}

export class DatomTable {
  /** Grows by appending; a chunk's filled rows never change. Read-only to everyone but this class. */
  readonly chunks: Chunk[];
  private count: number;

  constructor(chunks: Chunk[] = [], count = 0) {
    this.chunks = chunks;
    this.count = count;
  }

  get length(): number {
    return this.count;
  }

  /** A table to append to after `length` rows: this one if nothing was appended past it, else a fork. */
  forAppendAt(length: number): DatomTable {
    if (length === this.count) return this;
    const full = length >>> CHUNK_BITS;
    const chunks = this.chunks.slice(0, full);
    if ((length & CHUNK_MASK) !== 0) chunks.push(this.chunks[full]!.copy(length & CHUNK_MASK));
    return new DatomTable(chunks, length);
  }

  append(e: number, a: number, v: unknown, t: number, added: boolean): number {
    const row = this.count++;
    const i = row & CHUNK_MASK;
    if (i === 0) this.chunks.push(new Chunk());
    const chunk = this.chunks[row >>> CHUNK_BITS]!;
    chunk.e[i] = e;
    chunk.a[i] = a;
    chunk.t[i] = added ? t + 1 : -(t + 1);
    chunk.v[i] = v;
    return row;
  }

  e(row: number): number {
    return this.chunks[row >>> CHUNK_BITS]!.e[row & CHUNK_MASK]!;
  }
  a(row: number): number {
    return this.chunks[row >>> CHUNK_BITS]!.a[row & CHUNK_MASK]!;
  }
  v(row: number): unknown {
    return this.chunks[row >>> CHUNK_BITS]!.v[row & CHUNK_MASK];
  }
  /** The transaction's t (positive). */
  t(row: number): number {
    const t = this.chunks[row >>> CHUNK_BITS]!.t[row & CHUNK_MASK]!;
    return (t < 0 ? -t : t) - 1;
  }
  added(row: number): boolean {
    return this.chunks[row >>> CHUNK_BITS]!.t[row & CHUNK_MASK]! > 0;
  }

  datom(row: number): RowDatom {
    const chunk = this.chunks[row >>> CHUNK_BITS]!;
    const i = row & CHUNK_MASK;
    const t = chunk.t[i]!;
    return new RowDatom(chunk.e[i]!, chunk.a[i]!, chunk.v[i], txOfT((t < 0 ? -t : t) - 1), t > 0);
  }

  /** The datoms of rows [from, to). */
  datoms(from: number, to: number): RowDatom[] {
    const out = new Array<RowDatom>(to - from);
    for (let row = from; row < to; row++) out[row - from] = this.datom(row);
    return out;
  }

  /** Approximate bytes held, for stats. */
  get bytes(): number {
    return this.chunks.length * CHUNK_SIZE * 24;
  }
}
