//! The segment codec of the datom trees, and the sizes of their nodes.
//!
//! Sizes: a leaf holds up to 2,048 datoms and a branch up to 1,024 children. A leaf of typical
//! datoms (small ids, short strings, numbers) is ~10–25 KiB before compression and ~4–12 KiB
//! after: big enough that one storage read (S3: ~20–50 ms to first byte whatever the size, up to
//! hundreds of KiB) brings thousands of datoms, small enough that decoding one for a point lookup
//! stays well under a millisecond and that a 256 MiB cache holds tens of thousands of them. A
//! branch of 1,024 children (32-byte address, count, first and last datom) is ~80 KiB before
//! compression. Depth: one leaf holds 2k datoms, two levels 2M, three levels 2G — a 10M-datom
//! index is three segments deep; its root stays in memory, so a cold point lookup reads two.
import type { Datom } from '../datom/datom.ts';
import type { Compression } from './envelope.ts';
import { checkDatomColumns, readDatomColumns, writeDatomColumns } from './datom-columns.ts';
import { ednEqual } from '../edn/edn-equal.ts';
import { nodeCodec, type KeyColumns, type NodeCodec } from './node-codec.ts';

export const DATOM_LEAF_MAX = 2048;
export const DATOM_BRANCH_MAX = 1024;
/**
 * Brotli at quality 2 (envelope.ts), by measurement on leaves of 2,048 datoms of
 * bench/orders.ts data (this machine; encode time per leaf):
 *
 *   order  deflate 1          deflate 6          brotli q2          brotli q5
 *   EAVT   0.09 ms 4.70 B     0.68 ms 4.34 B     0.12 ms 4.59 B     0.54 ms 4.26 B   (per datom)
 *   AVET   0.20 ms 8.69 B     0.47 ms 8.29 B     0.17 ms 7.90 B     0.66 ms 7.22 B
 *
 * Quality 5 saved 7–9% of bytes for 4x the time, and compression was the largest single cost
 * of indexing (a sixth of the import's CPU): quality 2 keeps brotli's edge over deflate at
 * deflate-1 speed.
 */
export const DATOM_COMPRESSION: Compression = 'brotli';

/** The same datom, its value of the same representation. */
function sameDatom(x: Datom, y: Datom): boolean {
  return x.e === y.e && x.a === y.a && x.tx === y.tx && x.added === y.added && ednEqual(x.v, y.v);
}

export const datomColumns: KeyColumns<Datom> = {
  write: writeDatomColumns,
  read: readDatomColumns,
  same: sameDatom,
  check: checkDatomColumns,
  // Measured: a decoded leaf of bench/orders.ts data holds ~164 bytes of heap a datom (the datom
  // object, its value, the array slot); the memory cache's byte bound counts this much.
  keyBytes: 168,
};

export function datomNodeCodec(compression: Compression = DATOM_COMPRESSION): NodeCodec<Datom> {
  return nodeCodec(datomColumns, compression);
}
