//! The transactor lease of one database as a storage record (a compare-and-swap record, DESIGN.md):
//! who holds it, where to reach that node, the period it renews within, and whether it was released.
//!
//!   key    lease/<log>                       e.g. lease/db-6f1c…  (any log name; see below)
//!   bytes  UTF-8 JSON {"format":1,"nodeId":"…","incarnation":"<uuid>",
//!                      "address":"http://10.0.1.5:8182","periodMs":10000,"released":false}
//!
//! The record holds no time: clocks of different machines are not compared (lease-keeper.ts says
//! why). Every renewal writes the same bytes; what moves is the record's version.
//!
//! Invariants:
//! - A record is checked before it is written (a bad one is a bug: assertion) and after it is read
//!   (a bad one is `storage/corrupt` naming the key: storage or another program changed it).
//! - The key is valid on every backend: record keys are any non-empty string without NUL
//!   (check-arguments.ts); the local backend escapes each `/`-separated part into a file name and
//!   DynamoDB prefixes it. A log name has no NUL (it is itself a storage key).
import { AssertionError } from '../util/assert.ts';
import { FactumError } from '../util/errors.ts';

/** The lease record as stored. */
export interface LeaseRecord {
  /** The node that wrote the record: the holder, or the node that released it. */
  readonly nodeId: string;
  /**
   * Random, one per LeaseKeeper: which process wrote the record, even if an operator gave two
   * processes the same node id (or a restarted process its predecessor's). A holder renews at once
   * only a record that names its own incarnation (lease-view.ts).
   */
  readonly incarnation: string;
  /** The holder's internal endpoint, where other nodes forward transactions. */
  readonly address: string;
  /** The holder's lease period: others wait this long (by their clock) before taking over. */
  readonly periodMs: number;
  /** Written by a holder that stopped: the lease is free at once, no period to wait. */
  readonly released: boolean;
}

const format = 1;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** The record key of the lease of the database whose log is named `log`. */
export function leaseKey(log: string): string {
  return `lease/${log}`;
}

/** Why `record` is not a valid lease record, or null when it is one. */
function invalidity(record: Record<string, unknown>): string | null {
  if (record.format !== format) return `its format is ${JSON.stringify(record.format)}, expected ${format}`;
  if (typeof record.nodeId !== 'string' || record.nodeId.length === 0) return 'its nodeId is not a non-empty string';
  if (typeof record.incarnation !== 'string' || record.incarnation.length === 0) return 'its incarnation is not a non-empty string';
  if (typeof record.address !== 'string') return 'its address is not a string';
  const periodMs = record.periodMs;
  if (typeof periodMs !== 'number' || !Number.isFinite(periodMs) || periodMs <= 0) return `its periodMs ${JSON.stringify(periodMs)} is not a positive number`;
  if (typeof record.released !== 'boolean') return 'its released flag is not a boolean';
  return null;
}

export function encodeLeaseRecord(record: LeaseRecord): Uint8Array {
  const stored = {
    format,
    nodeId: record.nodeId,
    incarnation: record.incarnation,
    address: record.address,
    periodMs: record.periodMs,
    released: record.released,
  };
  const problem = invalidity(stored);
  if (problem !== null) throw new AssertionError(`lease record to write is invalid: ${problem}`);
  return encoder.encode(JSON.stringify(stored));
}

/** The lease record stored under `key`; `storage/corrupt` naming the key when the bytes are not one. */
export function decodeLeaseRecord(key: string, bytes: Uint8Array): LeaseRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(bytes));
  } catch (error) {
    throw corrupt(key, `it is not UTF-8 JSON (${(error as Error).message})`, bytes);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw corrupt(key, 'it is not a JSON object', bytes);
  const record = parsed as Record<string, unknown>;
  const problem = invalidity(record);
  if (problem !== null) throw corrupt(key, problem, bytes);
  return {
    nodeId: record.nodeId as string,
    incarnation: record.incarnation as string,
    address: record.address as string,
    periodMs: record.periodMs as number,
    released: record.released as boolean,
  };
}

function corrupt(key: string, problem: string, bytes: Uint8Array): FactumError {
  return new FactumError(
    'storage/corrupt',
    `The lease record ${JSON.stringify(key)} is corrupt: ${problem}; expected JSON ` +
      `{"format":${format},"nodeId":…,"incarnation":…,"address":…,"periodMs":…,"released":…}. ` +
      'Nodes treat it as a lease held by an unknown node and take it over after one lease period.',
    { key, length: bytes.length },
  );
}
