//! The bytes of one log entry: the transactions of one group commit, each as its datoms.
//!
//!   entry       := version:uint(1) count:uint transaction*
//!   transaction := t:uint nextUserN:uint nextDbN:uint datoms:uint datom*
//!   datom       := e:uint a:uint added:uint(0|1) v:value       (tx is implied by t)
//!
//! Values use the binary value codec. Storage frames and checksums each entry; decoding also
//! checks its own structure, so a damaged entry is an error naming its position, never a wrong db.
import type { Datom } from '../datom/datom.ts';
import { txOfT } from '../datom/datom.ts';
import { RowDatom } from '../db/datom-table.ts';
import type { LoggedTransaction } from '../tx/replay.ts';
import { FactumError } from '../util/errors.ts';
import { Reader, Writer } from '../values/codec.ts';

const VERSION = 1;

export function encodeLogEntry(transactions: readonly LoggedTransaction[]): Uint8Array {
  const w = new Writer();
  w.uint(VERSION);
  w.uint(transactions.length);
  for (const tx of transactions) {
    w.uint(tx.t);
    w.uint(tx.nextUserN);
    w.uint(tx.nextDbN);
    w.uint(tx.datoms.length);
    for (const d of tx.datoms) {
      w.uint(d.e);
      w.uint(d.a);
      w.uint(d.added ? 1 : 0);
      w.value(d.v);
    }
  }
  return w.finish();
}

export function decodeLogEntry(bytes: Uint8Array, position: number): LoggedTransaction[] {
  try {
    const r = new Reader(bytes);
    const version = r.uint();
    if (version !== VERSION) throw new Error(`unknown log entry version ${version}`);
    const count = r.uint();
    const out: LoggedTransaction[] = [];
    for (let i = 0; i < count; i++) {
      const t = r.uint();
      const nextUserN = r.uint();
      const nextDbN = r.uint();
      const n = r.uint();
      const tx = txOfT(t);
      const datoms: Datom[] = [];
      for (let j = 0; j < n; j++) {
        const e = r.uint();
        const a = r.uint();
        const added = r.uint() === 1;
        datoms.push(new RowDatom(e, a, r.value(), tx, added));
      }
      out.push({ t, nextUserN, nextDbN, datoms });
    }
    if (!r.done) throw new Error('trailing bytes');
    return out;
  } catch (error) {
    if (error instanceof FactumError) throw error;
    throw new FactumError('storage/corrupt', `Log entry at position ${position} cannot be decoded (${(error as Error).message}); the log is damaged: restore it from a backup.`, { position }, { cause: error });
  }
}
