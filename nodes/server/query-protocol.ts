//! The messages between the query pool (query-pool.ts, the node's main thread) and its query
//! workers (query-worker.ts).
//!
//!   main ── query { id, request } ──────────────────────▶ worker: db values ready, then the engine
//!        ◀── answered { id, answer } | failed { id, error } ──
//!   shared memory `engine`: [id of the query the engine runs now, or -1; when that run began]
//!
//! A request and an answer are wire messages (client/wire/codec.ts): values keep their types, and
//! an answer is already the bytes the node sends (one message for q, one per chunk for qseq), so
//! the main thread neither decodes nor encodes it. Errors keep their code, message and data
//! (encoded as the wire encodes them), or their name, message and stack when they are bugs.
//! The worker writes into `engine` as each synchronous run of the engine begins and ends (a query
//! runs again after each segment it loads): the pool's watchdog reads it, with no message, to
//! find a run that has gone on past its query's timeout and a grace (stuck: the engine checks the
//! timeout itself, so only a call it cannot interrupt gets there). Storage reads go over a port
//! of their own (nodes/storage/proxy/).
import type { MessagePort } from 'node:worker_threads';
import type { DbRef } from '../../client/wire/protocol.ts';
import { decode, encodableFields, encode } from '../../client/wire/codec.ts';
import type { IoStats } from '../cache/io-stats.ts';
import type { Compression } from '../segment/envelope.ts';
import type { DirectSegmentReads } from '../storage/protocol.ts';
import { FactumError, isFactumError } from '../util/errors.ts';

/** What a query worker is started with (its workerData). */
export interface QueryWorkerSettings {
  /** Where the worker's storage reads go (serveStorage answers them on the main thread). */
  readonly storagePort: MessagePort;
  /** The main thread's storage: its kind, and where segment files may be read directly (local storage). */
  readonly storageKind: string;
  readonly directReads: DirectSegmentReads | null;
  /** The cache levels of the worker's followers (plain values: they cross to the worker). */
  readonly indexing: {
    readonly cacheDirectory?: string;
    readonly efsCacheDirectory?: string;
    readonly cacheDirectoryBytesMax?: number;
    readonly efsCacheDirectoryBytesMax?: number;
    readonly cacheBytesMax?: number;
    readonly compression?: Compression;
  };
  /** The secret `with` tokens are sealed under (DbRefs), so that the worker verifies the node's tokens. */
  readonly sharedSecret: Uint8Array | null;
  /** How often, at most, a follower of the worker looks for a newer index root (when queried). */
  readonly refreshRootMs: number;
  /** Two float64s (engineRun below): the query the engine runs now, and since when. */
  readonly engine: SharedArrayBuffer;
}

/** The places in `engine`: the id of the query the engine runs now (-1: none), and the Date.now() its run began. */
export const engineRun = { id: 0, sinceMs: 1 } as const;

/** A db value a query names: its place among the args, its reference, and its database's log. */
export interface QueryDb {
  readonly position: number;
  readonly ref: DbRef;
  readonly log: string;
}

/** A query, checked on the main thread, for a worker to run. */
export interface QueryRequest {
  readonly query: unknown;
  /** The args; those at the positions of `dbs` are replaced by the db values. */
  readonly args: readonly unknown[];
  readonly dbs: readonly QueryDb[];
  readonly timeoutMs: number;
  readonly offset: number | null;
  readonly limit: number | null;
  /** qseq: the answer is chunks of items (it must be a relation or a collection). */
  readonly stream: boolean;
}

/** A query's answer as the node sends it: one wire message, or one message `{ items }` per chunk. */
export type QueryAnswer = { readonly kind: 'value'; readonly message: Uint8Array } | { readonly kind: 'items'; readonly chunks: ReadonlyArray<{ readonly items: number; readonly message: Uint8Array }> };

export interface SerializedQueryError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  readonly code?: string;
  /** A FactumError's data, encoded as the wire encodes it. */
  readonly data?: Uint8Array;
}

/** Main thread to worker. */
export type ToQueryWorker = { readonly kind: 'query'; readonly id: number; readonly request: Uint8Array };

/**
 * Worker to main thread. `io`: the worker's segment reads since its last answer, by cache level,
 * which the main thread adds to the process's (processIoStats: the ioStats operation, metrics).
 */
export type FromQueryWorker =
  | { readonly kind: 'answered'; readonly id: number; readonly answer: QueryAnswer; readonly io: IoStats | null }
  | { readonly kind: 'failed'; readonly id: number; readonly error: SerializedQueryError; readonly io: IoStats | null };

export function encodeRequest(request: QueryRequest): Uint8Array {
  return encode(request);
}

export function decodeRequest(bytes: Uint8Array): QueryRequest {
  return decode(bytes) as QueryRequest;
}

export function serializeQueryError(error: unknown): SerializedQueryError {
  if (isFactumError(error)) return { name: error.name, message: error.message, code: error.code, data: encode(encodableFields(error.data)) };
  if (error instanceof Error) return { name: error.name, message: error.message, ...(error.stack === undefined ? {} : { stack: error.stack }) };
  return { name: 'Error', message: String(error) };
}

/** The error again on the main thread: a FactumError with its code, message and data; else an Error of the same name. */
export function deserializeQueryError(error: SerializedQueryError): Error {
  if (error.code !== undefined) return new FactumError(error.code as never, error.message, error.data === undefined ? {} : (decode(error.data) as Record<string, unknown>));
  const out = error.name === 'RangeError' ? new RangeError(error.message) : new Error(error.message);
  out.name = error.name;
  if (error.stack !== undefined) out.stack = `${error.stack}\n    (in a query worker thread)`;
  return out;
}
