//! The embedded default: a storage in a local directory, for one process at a time.
//!
//!   <directory>/LOCK               the owning process (directory-lock.ts)
//!   <directory>/logs/<key>.log     one append-only file per log (log-file.ts, log-frame.ts)
//!   <directory>/segments/<key>.segment   one file per segment (segment-store.ts)
//!   <directory>/records/<key>.record     one file per record (record-store.ts)
//!   <directory>/tmp/               temporary files of writes in flight; emptied on open
//!
//! Keys map to paths by key-path.ts. Every write is durable (fsynced, and its directory entry
//! fsynced) before its promise resolves. A log is scanned, and a torn tail cut off, on its first use.

import path from 'node:path';
import type { DirectSegmentReads, LogEntry, Storage, VersionedRecord } from '../protocol.ts';
import { checkKey, checkPosition, checkRange, failClosed } from '../check-arguments.ts';
import type { FileSystem } from './file-system.ts';
import { defaultFileSystem, io, makeDirectory } from './file-system.ts';
import type { DirectoryLock } from './directory-lock.ts';
import { acquireDirectoryLock } from './directory-lock.ts';
import { keyToPath } from './key-path.ts';
import { LogFile } from './log-file.ts';
import { RecordStore } from './record-store.ts';
import { SegmentStore } from './segment-store.ts';

export interface LocalStorageOptions {
  /**
   * The file operations to use; tests pass a wrapper that injects I/O failures.
   * @default - node:fs/promises
   */
  readonly fileSystem?: FileSystem;
}

class LocalStorage implements Storage {
  readonly kind = 'local';
  private readonly logs = new Map<string, LogFile>();
  private readonly segments: SegmentStore;
  private readonly records: RecordStore;
  private closed = false;

  constructor(
    private readonly fileSystem: FileSystem,
    private readonly directory: string,
    private readonly lock: DirectoryLock,
  ) {
    const temporary = path.join(directory, 'tmp');
    this.segments = new SegmentStore(fileSystem, path.join(directory, 'segments'), temporary);
    this.records = new RecordStore(fileSystem, path.join(directory, 'records'), temporary);
  }

  private checkOpen(operation: string): void {
    if (this.closed) failClosed(this.kind, operation);
  }

  private logFile(log: string): LogFile {
    let file = this.logs.get(log);
    if (file === undefined) {
      file = new LogFile({
        fileSystem: this.fileSystem,
        filePath: path.join(this.directory, 'logs', keyToPath(log, '.log')),
        temporaryDirectory: path.join(this.directory, 'tmp'),
      });
      this.logs.set(log, file);
    }
    return file;
  }

  async appendLog(log: string, position: number, bytes: Uint8Array): Promise<boolean> {
    this.checkOpen('appendLog');
    checkKey('log', log);
    checkPosition(log, position);
    return this.logFile(log).append(log, position, Uint8Array.from(bytes));
  }

  async *readLog(log: string, start: number, end?: number): AsyncIterable<LogEntry> {
    this.checkOpen('readLog');
    checkKey('log', log);
    checkRange(log, start, end);
    for await (const entry of this.logFile(log).read(start, end)) {
      this.checkOpen('readLog');
      yield entry;
    }
  }

  async logLength(log: string): Promise<number> {
    this.checkOpen('logLength');
    checkKey('log', log);
    return this.logFile(log).length();
  }

  async deleteLog(log: string): Promise<void> {
    this.checkOpen('deleteLog');
    checkKey('log', log);
    await this.logFile(log).delete();
  }

  async putSegment(key: string, bytes: Uint8Array): Promise<void> {
    this.checkOpen('putSegment');
    checkKey('segment', key);
    await this.segments.put(key, bytes);
  }

  async getSegment(key: string): Promise<Uint8Array | null> {
    this.checkOpen('getSegment');
    checkKey('segment', key);
    return this.segments.get(key);
  }

  directSegmentReads(): DirectSegmentReads | null {
    // A file system given for tests (injected failures) is not one another thread can share.
    if (this.closed || this.fileSystem !== defaultFileSystem) return null;
    return { kind: 'local-directory', directory: path.join(this.directory, 'segments') };
  }

  async *listSegments(prefix: string): AsyncIterable<string> {
    this.checkOpen('listSegments');
    yield* this.segments.list(prefix);
  }

  async deleteSegments(keys: readonly string[]): Promise<void> {
    this.checkOpen('deleteSegments');
    for (const key of keys) checkKey('segment', key);
    await this.segments.delete(keys);
  }

  async getRecord(key: string): Promise<VersionedRecord | null> {
    this.checkOpen('getRecord');
    checkKey('record', key);
    return this.records.get(key);
  }

  async casRecord(key: string, expectedVersion: number | null, bytes: Uint8Array): Promise<boolean> {
    this.checkOpen('casRecord');
    checkKey('record', key);
    return this.records.cas(key, expectedVersion, bytes);
  }

  async deleteRecord(key: string, expectedVersion: number): Promise<boolean> {
    this.checkOpen('deleteRecord');
    checkKey('record', key);
    return this.records.delete(key, expectedVersion);
  }

  /** Lets writes in flight finish, closes every file and releases the directory lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.logs.values()].map((file) => file.close()));
    await this.segments.drained();
    await this.records.drained();
    await this.lock.release();
  }
}

/**
 * Opens (creating if needed) the storage in `directory`. Refused with `storage/locked` while another
 * process, or another open storage in this process, has it; a lock left by a dead process is taken over.
 *
 * @example
 * const storage = await openLocalStorage('./data');
 * await storage.appendLog('my-db', await storage.logLength('my-db'), bytes);
 * await storage.close();
 */
export async function openLocalStorage(directory: string, options: LocalStorageOptions = {}): Promise<Storage> {
  const fileSystem = options.fileSystem ?? defaultFileSystem;
  const root = path.resolve(directory);
  const temporary = path.join(root, 'tmp');
  await makeDirectory(fileSystem, temporary);
  const lock = await acquireDirectoryLock(fileSystem, root, temporary);
  try {
    await removeTemporaryFiles(fileSystem, temporary);
    for (const folder of ['logs', 'segments', 'records']) await makeDirectory(fileSystem, path.join(root, folder));
  } catch (error) {
    await lock.release();
    throw error;
  }
  return new LocalStorage(fileSystem, root, lock);
}

/** Leftovers of writes a crash interrupted: never renamed into place, so never acknowledged. */
async function removeTemporaryFiles(fileSystem: FileSystem, temporary: string): Promise<void> {
  const names = await io('list', temporary, () => fileSystem.readdir(temporary));
  for (const name of names) {
    await io('remove', path.join(temporary, name), () => fileSystem.rm(path.join(temporary, name), { force: true, recursive: true }));
  }
}
