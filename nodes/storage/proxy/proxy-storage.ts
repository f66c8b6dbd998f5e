//! A storage for a worker thread that forwards every read to the main thread's storage over a
//! MessagePort (the main thread answers with serveStorage, serve-storage.ts). It lets a worker open
//! a read-only follower of a database (a query worker, nodes/server/query-worker.ts) with no
//! storage connection of its own, whatever the backend (memory included).
//!
//!   ProxyStorage.getSegment ──▶ local segment file (directReads)? ──▶ port ──▶ main: storage.getSegment
//!
//! Invariants:
//! - Reads only. Every write (appendLog, putSegment, casRecord, …) is a bug here: a follower never
//!   writes, so it throws an AssertionError instead of reaching storage.
//! - A segment whose backend keeps it as an immutable local file (`directReads`) is read here,
//!   without the main thread; one not found there is still asked of the main thread.
//! - After close, every call (and every read still waiting) fails with `client/closed`.
import type { MessagePort } from 'node:worker_threads';
import { AssertionError } from '../../util/assert.ts';
import { FactumError } from '../../util/errors.ts';
import { defaultFileSystem } from '../local/file-system.ts';
import { readSegmentFile } from '../local/segment-store.ts';
import type { DirectSegmentReads, LogEntry, Storage, VersionedRecord } from '../protocol.ts';
import { deserializeError, type StorageRead, type StorageReadValues, type StorageReply, type StorageRequest } from './proxy-protocol.ts';

export interface ProxyStorageOptions {
  /** The main thread's storage kind (for messages). */
  readonly kind: string;
  /** Where segments may be read as files without the main thread (the main storage's directSegmentReads()). */
  readonly directReads?: DirectSegmentReads | null;
}

export class ProxyStorage implements Storage {
  readonly kind: string;
  private readonly directReads: DirectSegmentReads | null;
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private closed = false;

  constructor(
    private readonly port: MessagePort,
    options: ProxyStorageOptions,
  ) {
    this.kind = options.kind;
    this.directReads = options.directReads ?? null;
    port.on('message', (reply: StorageReply) => this.answered(reply));
    // Waiting reads keep the thread alive, an idle proxy does not.
    port.unref();
  }

  private ask<K extends StorageRead['kind']>(read: Extract<StorageRead, { kind: K }>): Promise<StorageReadValues[K]> {
    if (this.closed) return Promise.reject(this.closedError(read.kind));
    const id = this.next++;
    return new Promise((resolve, reject) => {
      if (this.waiting.size === 0) this.port.ref();
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.port.postMessage({ id, read } satisfies StorageRequest);
    });
  }

  private answered(reply: StorageReply): void {
    const waiter = this.waiting.get(reply.id);
    if (waiter === undefined) return;
    this.waiting.delete(reply.id);
    if (this.waiting.size === 0) this.port.unref();
    if ('error' in reply) waiter.reject(deserializeError(reply.error));
    else waiter.resolve(reply.value);
  }

  private closedError(operation: string): FactumError {
    return new FactumError('client/closed', `The proxy storage (of ${this.kind} storage, in a worker thread) is closed; ${operation} was not done.`, { operation });
  }

  async *readLog(log: string, start: number, end?: number): AsyncIterable<LogEntry> {
    let from = start;
    for (;;) {
      const page = await this.ask({ kind: 'readLog', log, start: from, end });
      for (const entry of page.entries) yield entry;
      const last = page.entries.at(-1);
      if (!page.more || last === undefined) return;
      from = last.position + 1;
    }
  }

  logLength(log: string): Promise<number> {
    return this.ask({ kind: 'logLength', log });
  }

  getRecord(key: string): Promise<VersionedRecord | null> {
    return this.ask({ kind: 'getRecord', key });
  }

  async getSegment(key: string): Promise<Uint8Array | null> {
    if (this.closed) throw this.closedError('getSegment');
    if (this.directReads !== null) {
      const bytes = await readSegmentFile(defaultFileSystem, this.directReads.directory, key);
      if (bytes !== null) return bytes;
    }
    return this.ask({ kind: 'getSegment', key });
  }

  async *listSegments(prefix: string): AsyncIterable<string> {
    yield* await this.ask({ kind: 'listSegments', prefix });
  }

  appendLog(log: string, _position: number, _bytes: Uint8Array): Promise<boolean> {
    return this.refuseWrite('appendLog', log);
  }

  deleteLog(log: string): Promise<void> {
    return this.refuseWrite('deleteLog', log);
  }

  putSegment(key: string, _bytes: Uint8Array): Promise<void> {
    return this.refuseWrite('putSegment', key);
  }

  deleteSegments(keys: readonly string[]): Promise<void> {
    return this.refuseWrite('deleteSegments', keys.join(', '));
  }

  casRecord(key: string, _expectedVersion: number | null, _bytes: Uint8Array): Promise<boolean> {
    return this.refuseWrite('casRecord', key);
  }

  deleteRecord(key: string, _expectedVersion: number): Promise<boolean> {
    return this.refuseWrite('deleteRecord', key);
  }

  private refuseWrite(operation: string, name: string): Promise<never> {
    return Promise.reject(new AssertionError(`${operation} ${name} through a proxy storage: its followers only read, so nothing may write through it`));
  }

  /** Fails every read still waiting, and later calls, with `client/closed`; closes the port. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const waiter of this.waiting.values()) waiter.reject(this.closedError('a read'));
    this.waiting.clear();
    this.port.close();
  }

  directSegmentReads(): DirectSegmentReads | null {
    return this.closed ? null : this.directReads;
  }
}
