//! The storage protocol: the three kinds of record of DESIGN.md, shaped so that every operation is
//! one single-item conditional write on DynamoDB/S3 (no multi-item transactions anywhere).
//!
//!   record     operation                               condition (the fence)
//!   ---------  --------------------------------------  -------------------------------------------
//!   log entry  appendLog(log, position, bytes)         `position` is empty (it is the next one)
//!   segment    putSegment(key, bytes)                  none: keys are content-addressed, immutable
//!   record     casRecord(key, expectedVersion, bytes)  the stored version equals `expectedVersion`
//!
//! Roots, the catalog and leases are records. Bytes are opaque here: the layers above encode them.
//! Every promise resolves only once the write is durable (fsync locally, acknowledged by the
//! service on AWS). A backend never reorders, merges or drops writes it acknowledged.

/** One log entry: the bytes written at one position (one or more transactions, group commit). */
export interface LogEntry {
  readonly position: number;
  readonly bytes: Uint8Array;
}

/** A compare-and-swap record and its version; the first write creates version 1. */
export interface VersionedRecord {
  readonly version: number;
  readonly bytes: Uint8Array;
}

export interface Storage {
  /** `memory`, `local`, `aws`: for messages and metrics. */
  readonly kind: string;

  /**
   * Appends an entry at `position` of the log named `log`. Positions start at 0 and have no gaps:
   * `position` must be the first empty one. Resolves `true` once the entry is durable, `false`
   * (writing nothing) when the position is already taken, e.g. by another writer that won.
   */
  appendLog(log: string, position: number, bytes: Uint8Array): Promise<boolean>;

  /** Entries with `start <= position < end` (end defaults to the end of the log), in order. */
  readLog(log: string, start: number, end?: number): AsyncIterable<LogEntry>;

  /** The number of entries in the log (the next empty position); 0 for a log never written. */
  logLength(log: string): Promise<number>;

  /** Removes a whole log (after its database is deleted from the catalog). */
  deleteLog(log: string): Promise<void>;

  /** Stores an immutable segment. Writing the same key twice must write the same bytes. */
  putSegment(key: string, bytes: Uint8Array): Promise<void>;

  /** The segment's bytes, or null when no segment has that key. */
  getSegment(key: string): Promise<Uint8Array | null>;

  /** Keys of the segments whose key starts with `prefix`, in no particular order. */
  listSegments(prefix: string): AsyncIterable<string>;

  /** Deletes segments (garbage collection only; never a segment a live root can reach). */
  deleteSegments(keys: readonly string[]): Promise<void>;

  /** The record's current version and bytes, read strongly consistently; null if absent. */
  getRecord(key: string): Promise<VersionedRecord | null>;

  /**
   * Writes `bytes` as version `expectedVersion + 1` if the record's version is `expectedVersion`
   * (`null`: the record must not exist yet). Resolves false, writing nothing, when it is not.
   */
  casRecord(key: string, expectedVersion: number | null, bytes: Uint8Array): Promise<boolean>;

  /** Deletes a record if its version is `expectedVersion`; false when it is not. */
  deleteRecord(key: string, expectedVersion: number): Promise<boolean>;

  /** Releases files, locks and connections. Later calls fail with `client/closed`. */
  close(): Promise<void>;

  /**
   * How another thread of this process may read segments itself, without this object: a plain
   * value it can be sent. Only backends whose segments are immutable files offer it (the index
   * worker reads the segments it merges so, not waiting for the main thread's turn). Optional;
   * wrappers (fault injection) leave it out, so every read goes through them.
   */
  directSegmentReads?(): DirectSegmentReads | null;
}

/** Segments as files of the local backend: `readSegmentFile(directory, key)` (local/segment-store.ts). */
export interface DirectSegmentReads {
  readonly kind: 'local-directory';
  readonly directory: string;
}
