//! The interface every level of the segment cache stack implements, and the backing level.
//!
//!   NodeCache (memory, decoded nodes)  ->  DirectoryCache (files)  ->  StorageSegments (Storage)
//!
//! Each level wraps the next (Replicache's LazyStore): `get` answers from the level or asks the
//! next one and keeps the answer; `put` writes through to the bottom before it resolves, so a
//! segment is durable in storage before any root can name it. Keys are segment addresses (the
//! SHA-256 hex of the bytes): a segment never changes, so no level is ever invalidated.
import type { Storage } from '../storage/protocol.ts';
import type { IoRecorder } from './io-stats.ts';
import { processIoStats } from './io-stats.ts';

export interface SegmentStore {
  /** The level's name in I/O statistics. */
  readonly level: string;
  /** The segment's bytes, or null when storage has no segment at that address. */
  get(address: string, recorder?: IoRecorder): Promise<Uint8Array | null>;
  /** Writes the segment through every level down to storage. */
  put(address: string, bytes: Uint8Array): Promise<void>;
}

/**
 * The bottom level: segments in a `Storage`, under `prefix` + address (one prefix per database,
 * so that listing it finds that database's segments, e.g. for garbage collection).
 */
export class StorageSegments implements SegmentStore {
  readonly level = 'storage';

  constructor(
    readonly storage: Storage,
    readonly prefix: string,
  ) {}

  keyOf(address: string): string {
    return this.prefix + address;
  }

  async get(address: string, recorder: IoRecorder = processIoStats): Promise<Uint8Array | null> {
    const start = performance.now();
    const bytes = await this.storage.getSegment(this.keyOf(address));
    const ms = performance.now() - start;
    if (bytes === null) recorder.miss(this.level, ms);
    else recorder.hit(this.level, bytes.length, ms);
    return bytes;
  }

  put(address: string, bytes: Uint8Array): Promise<void> {
    return this.storage.putSegment(this.keyOf(address), bytes);
  }
}
