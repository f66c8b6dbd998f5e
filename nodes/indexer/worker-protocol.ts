//! The messages between the Indexer (main thread) and its index worker (index-worker.ts). The
//! worker builds roots; the segments it writes, and those it reads unless storage lets it read
//! them itself (`directReads`, local files), go through the main thread's cache levels below
//! memory (directory caches, then storage), so the worker needs no storage handle and works with
//! every backend, memory included.
import type { Compression } from '../segment/envelope.ts';
import type { BuildSettings } from './build.ts';
import type { DirectSegmentReads } from '../storage/protocol.ts';
import type { SerializedError } from '../util/thread-errors.ts';
export { deserializeError, serializeError, type SerializedError } from '../util/thread-errors.ts';

export interface WorkerSettings extends BuildSettings {
  readonly compression?: Compression;
  /** Bytes of decoded segments the worker keeps in memory. */
  readonly cacheBytesMax: number;
  /**
   * Where the worker reads segments itself (storage keys are `prefix` + address), when storage
   * allows it and no cache directory sits above it; a segment not found there is asked of the
   * main thread. Writes always go through the main thread.
   */
  readonly directReads?: { readonly reads: DirectSegmentReads; readonly prefix: string };
}

/** Main thread to worker. */
export type ToWorker =
  | { readonly kind: 'build'; readonly id: number; readonly run: Uint8Array }
  | { readonly kind: 'got'; readonly id: number; readonly bytes: Uint8Array | null; readonly error?: SerializedError }
  | { readonly kind: 'put'; readonly id: number; readonly error?: SerializedError };

/** Worker to main thread. */
export type FromWorker =
  | { readonly kind: 'built'; readonly id: number; readonly root: Uint8Array; readonly segmentsWritten: number; readonly datoms: number }
  | { readonly kind: 'build-failed'; readonly id: number; readonly error: SerializedError }
  | { readonly kind: 'get'; readonly id: number; readonly address: string }
  | { readonly kind: 'put'; readonly id: number; readonly address: string; readonly bytes: Uint8Array };

