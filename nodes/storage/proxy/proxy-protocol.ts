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
import { FactumError, isFactumError } from '../../util/errors.ts';
import type { LogEntry, VersionedRecord } from '../protocol.ts';

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

export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly data?: Record<string, unknown>;
}

/** `data` if it survives a structured clone, else only its plain fields. */
function cloneable(data: Readonly<Record<string, unknown>>): Record<string, unknown> {
  try {
    return structuredClone({ ...data });
  } catch {
    return Object.fromEntries(Object.entries(data).filter(([, value]) => ['string', 'number', 'boolean'].includes(typeof value) || value === null));
  }
}

export function serializeError(error: unknown): SerializedError {
  if (isFactumError(error)) return { name: error.name, message: error.message, code: error.code, data: cloneable(error.data) };
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}

/** The error again, on the other side: a FactumError keeps its code, message and data. */
export function deserializeError(error: SerializedError): Error {
  if (error.code !== undefined) return new FactumError(error.code as never, error.message, error.data ?? {});
  const out = new Error(error.message);
  out.name = error.name;
  return out;
}

/** A copy of `bytes` that owns its whole buffer, so that it can be transferred. */
export function ownedCopy(bytes: Uint8Array): Uint8Array {
  return Uint8Array.prototype.slice.call(bytes);
}
