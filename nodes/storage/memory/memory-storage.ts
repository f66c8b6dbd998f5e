//! Storage in process memory: for tests and for throwaway embedded databases. It keeps the same
//! conditions as every backend (no gaps, taken positions, compare-and-swap versions) and copies
//! bytes on the way in and out, so no caller can change stored data through a shared buffer.

import type { LogEntry, Storage, VersionedRecord } from '../protocol.ts';
import { fail } from '../../util/errors.ts';
import { checkKey, checkNoGap, checkRange, failClosed } from '../check-arguments.ts';

function copy(bytes: Uint8Array): Uint8Array {
  return Uint8Array.from(bytes);
}

function sameBytes(left: Uint8Array, right: Uint8Array): boolean {
  return left.length === right.length && left.every((byte, index) => byte === right[index]);
}

class MemoryStorage implements Storage {
  readonly kind = 'memory';
  private readonly logs = new Map<string, Uint8Array[]>();
  private readonly segments = new Map<string, Uint8Array>();
  private readonly records = new Map<string, VersionedRecord>();
  private closed = false;

  private checkOpen(operation: string): void {
    if (this.closed) failClosed(this.kind, operation);
  }

  async appendLog(log: string, position: number, bytes: Uint8Array): Promise<boolean> {
    this.checkOpen('appendLog');
    checkKey('log', log);
    const entries = this.logs.get(log) ?? [];
    checkNoGap(log, position, entries.length);
    if (position < entries.length) return false;
    entries.push(copy(bytes));
    this.logs.set(log, entries);
    return true;
  }

  async *readLog(log: string, start: number, end?: number): AsyncIterable<LogEntry> {
    this.checkOpen('readLog');
    checkKey('log', log);
    checkRange(log, start, end);
    const entries = this.logs.get(log) ?? [];
    const stop = Math.min(end ?? entries.length, entries.length);
    for (let position = start; position < stop; position++) {
      this.checkOpen('readLog');
      yield { position, bytes: copy(entries[position]) };
    }
  }

  async logLength(log: string): Promise<number> {
    this.checkOpen('logLength');
    checkKey('log', log);
    return this.logs.get(log)?.length ?? 0;
  }

  async deleteLog(log: string): Promise<void> {
    this.checkOpen('deleteLog');
    checkKey('log', log);
    this.logs.delete(log);
  }

  async putSegment(key: string, bytes: Uint8Array): Promise<void> {
    this.checkOpen('putSegment');
    checkKey('segment', key);
    const existing = this.segments.get(key);
    if (existing === undefined) {
      this.segments.set(key, copy(bytes));
    } else if (!sameBytes(existing, bytes)) {
      fail('storage/conflict', `segment ${JSON.stringify(key)} exists with different bytes; segments are immutable`, {
        key,
        storedLength: existing.length,
        givenLength: bytes.length,
      });
    }
  }

  async getSegment(key: string): Promise<Uint8Array | null> {
    this.checkOpen('getSegment');
    checkKey('segment', key);
    const bytes = this.segments.get(key);
    return bytes === undefined ? null : copy(bytes);
  }

  async *listSegments(prefix: string): AsyncIterable<string> {
    this.checkOpen('listSegments');
    for (const key of [...this.segments.keys()]) {
      if (key.startsWith(prefix)) yield key;
    }
  }

  async deleteSegments(keys: readonly string[]): Promise<void> {
    this.checkOpen('deleteSegments');
    for (const key of keys) checkKey('segment', key);
    for (const key of keys) this.segments.delete(key);
  }

  async getRecord(key: string): Promise<VersionedRecord | null> {
    this.checkOpen('getRecord');
    checkKey('record', key);
    const record = this.records.get(key);
    return record === undefined ? null : { version: record.version, bytes: copy(record.bytes) };
  }

  async casRecord(key: string, expectedVersion: number | null, bytes: Uint8Array): Promise<boolean> {
    this.checkOpen('casRecord');
    checkKey('record', key);
    const version = this.records.get(key)?.version ?? null;
    if (version !== expectedVersion) return false;
    this.records.set(key, { version: (version ?? 0) + 1, bytes: copy(bytes) });
    return true;
  }

  async deleteRecord(key: string, expectedVersion: number): Promise<boolean> {
    this.checkOpen('deleteRecord');
    checkKey('record', key);
    if (this.records.get(key)?.version !== expectedVersion) return false;
    this.records.delete(key);
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** A new, empty storage held in this process's memory. */
export function createMemoryStorage(): Storage {
  return new MemoryStorage();
}
