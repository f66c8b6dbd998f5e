//! The index worker: builds roots (build.ts) in a worker thread, so that indexing uses the second
//! core while the main thread runs transactions and queries. Started by WorkerBuilder
//! (worker-builder.ts) with `WorkerSettings` as its workerData. Its segment store sends every write
//! to the main thread (worker-protocol.ts), and every read too unless it may read local segment
//! files itself; its memory cache is its own.
import { parentPort, workerData } from 'node:worker_threads';
import type { Datom } from '../datom/datom.ts';
import { NodeCache } from '../cache/node-cache.ts';
import type { SegmentStore } from '../cache/segment-store.ts';
import { datomNodeCodec } from '../segment/datom-codec.ts';
import { RootBuilder } from './build.ts';
import { encodeRoot } from './root.ts';
import { decodeRun } from './wire.ts';
import { readSegmentFile } from '../storage/local/segment-store.ts';
import { defaultFileSystem } from '../storage/local/file-system.ts';
import { deserializeError, serializeError, type FromWorker, type ToWorker, type WorkerSettings } from './worker-protocol.ts';

const port = parentPort!;
const settings = workerData as WorkerSettings;

/** Segment reads (local files read here first) and writes, answered by the main thread. */
class MainThreadSegments implements SegmentStore {
  readonly level = 'main-thread';
  private next = 0;
  readonly waiting = new Map<number, { resolve: (value: Uint8Array | null) => void; reject: (error: Error) => void }>();

  private ask(message: FromWorker, id: number, transfer: ArrayBuffer[] = []): Promise<Uint8Array | null> {
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      port.postMessage(message, transfer);
    });
  }

  async get(address: string): Promise<Uint8Array | null> {
    const direct = settings.directReads;
    if (direct !== undefined) {
      const bytes = await readSegmentFile(defaultFileSystem, direct.reads.directory, direct.prefix + address);
      if (bytes !== null) return bytes;
    }
    const id = this.next++;
    return this.ask({ kind: 'get', id, address }, id);
  }

  async put(address: string, bytes: Uint8Array): Promise<void> {
    const id = this.next++;
    // A sealed segment owns its whole buffer: hand it over instead of copying it.
    const owns = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
    await this.ask({ kind: 'put', id, address, bytes }, id, owns ? [bytes.buffer as ArrayBuffer] : []);
  }

  answer(message: Extract<ToWorker, { kind: 'got' | 'put' }>): void {
    const waiter = this.waiting.get(message.id);
    if (waiter === undefined) return;
    this.waiting.delete(message.id);
    if (message.error !== undefined) waiter.reject(deserializeError(message.error));
    else waiter.resolve(message.kind === 'got' ? message.bytes : null);
  }
}

const segments = new MainThreadSegments();
// Writes wait on the main thread's turn as well as on storage: keep more of them in flight.
const nodes = new NodeCache<Datom>(datomNodeCodec(settings.compression), segments, { cacheBytesMax: settings.cacheBytesMax, writesMax: 256 });
const builder = new RootBuilder(nodes, settings);

async function build(id: number, run: Uint8Array): Promise<void> {
  try {
    const { previous, input, nowMs } = decodeRun(run);
    const built = await builder.build(previous, input, nowMs);
    const reply: FromWorker = { kind: 'built', id, root: encodeRoot(built.root), segmentsWritten: built.segmentsWritten, datoms: built.datoms };
    port.postMessage(reply);
  } catch (error) {
    const reply: FromWorker = { kind: 'build-failed', id, error: serializeError(error) };
    port.postMessage(reply);
  }
}

port.on('message', (message: ToWorker) => {
  if (message.kind === 'build') void build(message.id, message.run);
  else segments.answer(message);
});
