//! The bytes of one log entry: the transactions of one group commit, each as its datoms, and
//! (version 2) the transactor's clock when the entry was written and the idempotency key and
//! tempids of the transactions submitted with a key.
//!
//!   entry       := version:uint(1) count:uint transaction*
//!                | version:uint(2) committedMs:uint count:uint transaction*
//!   transaction := t:uint nextUserN:uint nextDbN:uint datoms:uint datom* keyed
//!   datom       := e:uint a:uint added:uint(0|1) v:value       (tx is implied by t)
//!   keyed       := (version 1: nothing)
//!                | (version 2) key:string tempids:uint (name:string e:uint)*
//!                  key "" is a transaction without one, and has no tempids
//!
//! Version 1 is written when no transaction of the entry has a key and none has a :db/txInstant
//! more than PLAIN_INSTANT_LAG_MS_MAX before the clock at commit (the usual case: a transaction
//! that sets no instant gets the clock), so such an entry is byte for byte what it always was
//! (embedded users see no change); version 2 otherwise. Both decode. The rule gives every entry a
//! bound on when it was written, which the idempotency window is measured by (idempotency.ts):
//! a version-2 entry says it (committedMs), a version-1 entry was written at most
//! PLAIN_INSTANT_LAG_MS_MAX after the instant of any of its transactions. The tempids are kept
//! for keyed transactions only: they are what a retry of the key is answered with, and nothing
//! else reads them.
//!
//! Values use the binary value codec. Storage frames and checksums each entry; decoding also
//! checks its own structure, so a damaged entry is an error naming its position, never a wrong db.
import type { Datom } from '../datom/datom.ts';
import { txOfT } from '../datom/datom.ts';
import { RowDatom } from '../db/datom-table.ts';
import { ATTR } from '../schema/bootstrap.ts';
import type { LoggedTransaction } from '../tx/replay.ts';
import { AssertionError } from '../util/assert.ts';
import { FactumError } from '../util/errors.ts';
import { Reader, Writer } from '../values/codec.ts';

const VERSION_PLAIN = 1;
const VERSION_KEYED = 2;

/** What an idempotency key may be: 1 to 128 of these characters (checked on write and on read). */
export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * A version-1 entry is written only when each of its transactions has a :db/txInstant at most this
 * long before the clock at commit: a transaction that sets no instant gets the clock when it is
 * processed, and is written soon after. Later ones (an import of old history keeping its dates, a
 * write that waited long) make the entry version 2, which records the clock itself.
 */
export const PLAIN_INSTANT_LAG_MS_MAX = 60_000;

/** A transaction as its log entry holds it: replay reads the datoms, retries the key and tempids. */
export interface LogEntryTransaction extends LoggedTransaction {
  /** The transactor's clock (ms) when the entry holding it was written; present exactly in version-2 entries. */
  readonly committedMs?: number;
  /** The key it was submitted with; absent when it had none. */
  readonly idempotencyKey?: string;
  /** Its tempids (name → entity id), present exactly when it has a key. */
  readonly tempids?: Readonly<Record<string, number>>;
}

/** The :db/txInstant of a logged transaction, in ms; null if it has none. */
export function txInstantMsOf(logged: LoggedTransaction): number | null {
  const tx = txOfT(logged.t);
  const { datoms } = logged;
  // The transaction's own datoms come last in a logged transaction: search from the end.
  for (let k = datoms.length - 1; k >= 0; k--) {
    const d = datoms[k]!;
    if (d.e === tx && d.a === ATTR.txInstant && d.added) return (d.v as Date).getTime();
  }
  return null;
}

/**
 * The bytes of an entry holding `transactions`, written at `committedMs` by the transactor's clock
 * (recorded in version 2; the `committedMs` of the transactions given is not read).
 */
export function encodeLogEntry(transactions: readonly LogEntryTransaction[], committedMs: number): Uint8Array {
  if (!Number.isSafeInteger(committedMs) || committedMs < 0) throw new AssertionError(`log entry committed at ${committedMs}, not a clock reading`);
  const keyed = transactions.some((tx) => tx.idempotencyKey !== undefined || (txInstantMsOf(tx) ?? committedMs) < committedMs - PLAIN_INSTANT_LAG_MS_MAX);
  const w = new Writer();
  w.uint(keyed ? VERSION_KEYED : VERSION_PLAIN);
  if (keyed) w.uint(committedMs);
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
    if (keyed) writeKeyed(w, tx);
  }
  return w.finish();
}

function writeKeyed(w: Writer, tx: LogEntryTransaction): void {
  const key = tx.idempotencyKey;
  if (key === undefined) {
    w.string('');
    w.uint(0);
    return;
  }
  // Checked again here, before it is durable: the transactor checks keys when they are submitted.
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) throw new AssertionError(`idempotency key ${JSON.stringify(key)} reached the log unchecked`);
  if (tx.tempids === undefined) throw new AssertionError(`transaction t ${tx.t} has an idempotency key but no tempids`);
  const names = Object.keys(tx.tempids);
  w.string(key);
  w.uint(names.length);
  for (const name of names) {
    w.string(name);
    w.uint(tx.tempids[name]!);
  }
}

export function decodeLogEntry(bytes: Uint8Array, position: number): LogEntryTransaction[] {
  try {
    const r = new Reader(bytes);
    const version = r.uint();
    if (version !== VERSION_PLAIN && version !== VERSION_KEYED) throw new Error(`unknown log entry version ${version}`);
    const committedMs = version === VERSION_KEYED ? r.uint() : undefined;
    const count = r.uint();
    const out: LogEntryTransaction[] = [];
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
      const logged: LogEntryTransaction = { t, nextUserN, nextDbN, datoms };
      out.push(committedMs === undefined ? logged : readKeyed(r, { ...logged, committedMs }));
    }
    if (!r.done) throw new Error('trailing bytes');
    return out;
  } catch (error) {
    // The value codec's own storage/corrupt errors too: they name a byte, not the entry.
    throw new FactumError('storage/corrupt', `Log entry at position ${position} cannot be decoded (${(error as Error).message}); the log is damaged: restore it from a backup.`, { position }, { cause: error });
  }
}

function readKeyed(r: Reader, logged: LogEntryTransaction): LogEntryTransaction {
  const key = r.string();
  const count = r.uint();
  if (key === '') {
    if (count !== 0) throw new Error(`transaction t ${logged.t} has tempids but no idempotency key`);
    return logged;
  }
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) throw new Error(`transaction t ${logged.t} has an invalid idempotency key`);
  const entries: Array<[string, number]> = [];
  const seen = new Set<string>();
  for (let k = 0; k < count; k++) {
    const name = r.string();
    if (seen.has(name)) throw new Error(`transaction t ${logged.t} names tempid ${JSON.stringify(name)} twice`);
    seen.add(name);
    entries.push([name, r.uint()]);
  }
  // fromEntries defines own properties: a tempid named "__proto__" stays a tempid.
  return { ...logged, idempotencyKey: key, tempids: Object.freeze(Object.fromEntries(entries)) };
}
