//! An index run's input on the wire to the index worker (index-worker.ts): one byte array, so that
//! values keep their types (a structured clone would turn a keyword into a plain object).
//!
//!   uint t, logPosition, nextUserN, nextDbN; float64 lastTxInstantMs, nowMs
//!   uint n, n × uint        the attributes of novelty that are refs
//!   uint n, n × (uint t, datom columns)     the transactions (datom-columns.ts)
//!   uint n, n × uint        the datoms (numbered across the transactions) that are retractions
//!                           which did not go into history (:db/noHistory was on)
//!   bytes                   the previous root (root.ts), empty when there is none
//!
//! The schema questions the run asks (`AttributeFacts`) are answered here, on the main thread,
//! for exactly the datoms of novelty.
import type { Datom } from '../datom/datom.ts';
import { Reader, Writer } from '../values/codec.ts';
import { readDatomColumns, writeDatomColumns } from '../segment/datom-columns.ts';
import type { IndexInput } from './build.ts';
import type { LoggedTransaction } from './novelty.ts';
import { decodeRoot, encodeRoot, type IndexRoot } from './root.ts';

export interface WireRun {
  readonly previous: IndexRoot | null;
  readonly input: IndexInput;
  readonly nowMs: number;
}

export function encodeRun(previous: IndexRoot | null, input: IndexInput, nowMs: number): Uint8Array {
  const writer = new Writer(1024 * 1024);
  for (const n of [input.t, input.logPosition, input.nextUserN, input.nextDbN]) writer.uint(n);
  writer.float64(input.lastTxInstantMs);
  writer.float64(nowMs);
  const attributes = new Set<number>();
  for (const transaction of input.transactions) for (const datom of transaction.datoms) attributes.add(datom.a);
  const refs = [...attributes].filter((a) => input.schema.isRef(a));
  writer.uint(refs.length);
  for (const a of refs) writer.uint(a);
  writer.uint(input.transactions.length);
  const noHistory: number[] = [];
  let i = 0;
  for (const transaction of input.transactions) {
    writer.uint(transaction.t);
    writeDatomColumns(writer, transaction.datoms);
    for (const datom of transaction.datoms) {
      if (!datom.added && !input.schema.keepsHistory(datom)) noHistory.push(i);
      i++;
    }
  }
  writer.uint(noHistory.length);
  for (const n of noHistory) writer.uint(n);
  writer.bytes(previous === null ? new Uint8Array(0) : encodeRoot(previous));
  return writer.finish();
}

export function decodeRun(bytes: Uint8Array): WireRun {
  const reader = new Reader(bytes);
  const [t, logPosition, nextUserN, nextDbN] = Array.from({ length: 4 }, () => reader.uint()) as [number, number, number, number];
  const lastTxInstantMs = reader.float64();
  const nowMs = reader.float64();
  const refs = new Set(Array.from({ length: reader.uint() }, () => reader.uint()));
  const transactions: LoggedTransaction[] = [];
  const all: Datom[] = [];
  for (let n = reader.uint(); n > 0; n--) {
    const txT = reader.uint();
    const datoms = readDatomColumns(reader, '(index run input)');
    transactions.push({ t: txT, datoms });
    for (const datom of datoms) all.push(datom);
  }
  const noHistory = new Set<Datom>(Array.from({ length: reader.uint() }, () => all[reader.uint()]!));
  const rootBytes = reader.bytes();
  const previous = rootBytes.length === 0 ? null : decodeRoot('(the previous root)', rootBytes);
  const schema = { isRef: (a: number) => refs.has(a), keepsHistory: (retraction: Datom) => !noHistory.has(retraction) };
  return { previous, input: { t, logPosition, nextUserN, nextDbN, lastTxInstantMs, transactions, schema }, nowMs };
}
