//! Datoms and entity ids.
//!
//! An entity id is a safe integer `partition * 2^42 + n` (Datomic's layout): partition 0 holds the
//! schema (`:db.part/db`), 3 the transactions (`:db.part/tx`), 4 user entities (`:db.part/user`).
//! A transaction's id is `txPartition * 2^42 + t`, so `t` and tx id convert both ways.

export const PARTITION_SHIFT = 2 ** 42;
export const PART_DB = 0;
export const PART_TX = 3;
export const PART_USER = 4;

export function entityId(partition: number, n: number): number {
  return partition * PARTITION_SHIFT + n;
}
export function partitionOf(e: number): number {
  return Math.floor(e / PARTITION_SHIFT);
}
export function txOfT(t: number): number {
  return PART_TX * PARTITION_SHIFT + t;
}
export function tOfTx(tx: number): number {
  return tx - PART_TX * PARTITION_SHIFT;
}
/** A number given where a t or a tx id is expected: tx ids convert to t, t stays t. */
export function toT(tOrTx: number): number {
  return tOrTx >= PART_TX * PARTITION_SHIFT ? tOfTx(tOrTx) : tOrTx;
}

/** `[e a v tx added]`. `a` is the attribute's entity id; `v` is a value (a ref is an entity id). */
export interface Datom {
  readonly e: number;
  readonly a: number;
  readonly v: unknown;
  readonly tx: number;
  readonly added: boolean;
}

export type IndexName = 'eavt' | 'aevt' | 'avet' | 'vaet';
