//! The main thread's side of a proxy storage (proxy-storage.ts): answers the reads a worker thread
//! sends over a MessagePort from this thread's storage object. The I/O is asynchronous here; what
//! the worker does with the bytes (decoding segments, replaying the log, queries) is its own CPU.
import type { MessagePort } from 'node:worker_threads';
import type { LogEntry, Storage } from '../protocol.ts';
import { LOG_PAGE_BYTES, LOG_PAGE_ENTRIES, ownedCopy, serializeError, type StorageRead, type StorageReply, type StorageRequest } from './proxy-protocol.ts';

/** Answers `port`'s reads from `storage` until `port` closes. The port does not keep the process alive. */
export function serveStorage(port: MessagePort, storage: Storage): void {
  port.on('message', (request: StorageRequest) => {
    answer(storage, request.read).then(
      ({ value, transfer }) => port.postMessage({ id: request.id, value } satisfies StorageReply, transfer),
      (error: unknown) => port.postMessage({ id: request.id, error: serializeError(error) } satisfies StorageReply),
    );
  });
  port.unref();
}

/** One read's answer, with the buffers to transfer (copies made here: the storage's own are never handed over). */
async function answer(storage: Storage, read: StorageRead): Promise<{ value: unknown; transfer: ArrayBuffer[] }> {
  switch (read.kind) {
    case 'readLog':
      return readLogPage(storage, read.log, read.start, read.end);
    case 'logLength':
      return { value: await storage.logLength(read.log), transfer: [] };
    case 'getRecord': {
      const record = await storage.getRecord(read.key);
      if (record === null) return { value: null, transfer: [] };
      const bytes = ownedCopy(record.bytes);
      return { value: { version: record.version, bytes }, transfer: [bytes.buffer as ArrayBuffer] };
    }
    case 'getSegment': {
      const stored = await storage.getSegment(read.key);
      if (stored === null) return { value: null, transfer: [] };
      const bytes = ownedCopy(stored);
      return { value: bytes, transfer: [bytes.buffer as ArrayBuffer] };
    }
    case 'listSegments': {
      const keys: string[] = [];
      for await (const key of storage.listSegments(read.prefix)) keys.push(key);
      return { value: keys, transfer: [] };
    }
  }
}

async function readLogPage(storage: Storage, log: string, start: number, end: number | undefined): Promise<{ value: unknown; transfer: ArrayBuffer[] }> {
  const entries: LogEntry[] = [];
  const transfer: ArrayBuffer[] = [];
  let bytes = 0;
  let more = false;
  for await (const entry of storage.readLog(log, start, end)) {
    if (entries.length >= LOG_PAGE_ENTRIES || bytes >= LOG_PAGE_BYTES) {
      more = true;
      break; // ends the storage's read; the worker asks for the next page from here
    }
    const copy = ownedCopy(entry.bytes);
    entries.push({ position: entry.position, bytes: copy });
    transfer.push(copy.buffer as ArrayBuffer);
    bytes += copy.length;
  }
  return { value: { entries, more }, transfer };
}
