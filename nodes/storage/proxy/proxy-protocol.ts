//! The messages of a proxy storage (proxy-storage.ts, in a worker thread) and the main thread that
//! serves it (serve-storage.ts) over a MessagePort. Only reads cross: a proxy storage belongs to a
//! read-only follower, which never writes.
//!
//!   worker ── { id, read } ──▶ main thread: storage.<read>(…)
//!          ◀── { id, value } | { id, error } ──
//!
//! Bytes travel as copies the sender owns whole, transferred (never a view into a buffer the
//! storage keeps: transferring that would detach it). A log read answers a page at a time, so a
//! long log never makes one message of unbounded size.
import type { LogEntry, VersionedRecord } from '../protocol.ts';
import type { SerializedError } from '../../util/thread-errors.ts';
export { deserializeError, serializeError, type SerializedError } from '../../util/thread-errors.ts';

/** A log read answers at most this many entries, or this many bytes (plus one entry), a page. */
export const LOG_PAGE_ENTRIES = 256;
export const LOG_PAGE_BYTES = 8 * 1024 * 1024;

/** A read the worker asks of the main thread's storage. */
export type StorageRead =
  | { readonly kind: 'readLog'; readonly log: string; readonly start: number; readonly end: number | undefined }
  | { readonly kind: 'logLength'; readonly log: string }
  | { readonly kind: 'getRecord'; readonly key: string }
  | { readonly kind: 'getSegment'; readonly key: string }
  | { readonly kind: 'listSegments'; readonly prefix: string };

/** What each read answers. */
export interface StorageReadValues {
  readonly readLog: { readonly entries: readonly LogEntry[]; readonly more: boolean };
  readonly logLength: number;
  readonly getRecord: VersionedRecord | null;
  readonly getSegment: Uint8Array | null;
  readonly listSegments: readonly string[];
}

export interface StorageRequest {
  readonly id: number;
  readonly read: StorageRead;
}

export type StorageReply = { readonly id: number; readonly value: unknown } | { readonly id: number; readonly error: SerializedError };

/** A copy of `bytes` that owns its whole buffer, so that it can be transferred. */
export function ownedCopy(bytes: Uint8Array): Uint8Array {
  return Uint8Array.prototype.slice.call(bytes);
}
