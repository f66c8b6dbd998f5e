//! The main thread's side of the index worker: sends each run to the worker (index-worker.ts) and
//! serves the worker's segment reads and writes from the cache levels below memory. The worker
//! starts with the first run; it is kept referenced only while a run is under way, so an idle
//! indexer never keeps the process alive. If the worker dies, the run fails (the indexer keeps its
//! root; the next run starts a new worker).
import { Worker } from 'node:worker_threads';
import type { SegmentStore } from '../cache/segment-store.ts';
import { FactumError } from '../util/errors.ts';
import type { Built, IndexInput } from './build.ts';
import { decodeRoot, type IndexRoot } from './root.ts';
import { encodeRun } from './wire.ts';
import { deserializeError, serializeError, type FromWorker, type ToWorker, type WorkerSettings } from './worker-protocol.ts';

/** The worker, from source (TypeScript: through tsx's loader) or from a bundle (a sibling file). */
function startWorker(settings: WorkerSettings): Worker {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    return new Worker(new URL('./ts-worker.mjs', here), { workerData: { ...settings, entry: new URL('./index-worker.ts', here).href } });
  }
  return new Worker(new URL('./index-worker.mjs', here), { workerData: settings });
}

export class WorkerBuilder {
  private worker: Worker | null = null;
  private next = 0;
  private readonly runs = new Map<number, { resolve: (built: Built) => void; reject: (error: Error) => void }>();

  constructor(
    private readonly below: SegmentStore,
    private readonly settings: WorkerSettings,
  ) {}

  build(previous: IndexRoot | null, input: IndexInput, nowMs: number): Promise<Built> {
    const run = encodeRun(previous, input, nowMs);
    const worker = this.worker ?? this.start();
    const id = this.next++;
    return new Promise<Built>((resolve, reject) => {
      this.runs.set(id, { resolve, reject });
      worker.ref();
      const message: ToWorker = { kind: 'build', id, run };
      worker.postMessage(message, [run.buffer as ArrayBuffer]);
    }).finally(() => {
      if (this.runs.size === 0) this.worker?.unref();
    });
  }

  private start(): Worker {
    const worker = startWorker(this.settings);
    worker.unref();
    worker.on('message', (message: FromWorker) => this.receive(worker, message));
    const died = (cause: unknown): void => {
      if (this.worker === worker) this.worker = null;
      const reason = cause instanceof Error ? cause.message : String(cause);
      const error = new FactumError('index/worker-failed', `The index worker stopped (${reason}); the run is abandoned and the next one starts a new worker.`, { reason });
      for (const run of this.runs.values()) run.reject(error);
      this.runs.clear();
    };
    worker.on('error', died);
    worker.on('exit', (code) => died(`exit code ${code}`));
    this.worker = worker;
    return worker;
  }

  private receive(worker: Worker, message: FromWorker): void {
    switch (message.kind) {
      case 'get':
        this.below.get(message.address).then(
          (bytes) => worker.postMessage({ kind: 'got', id: message.id, bytes } satisfies ToWorker),
          (error: unknown) => worker.postMessage({ kind: 'got', id: message.id, bytes: null, error: serializeError(error) } satisfies ToWorker),
        );
        return;
      case 'put':
        this.below.put(message.address, message.bytes).then(
          () => worker.postMessage({ kind: 'put', id: message.id } satisfies ToWorker),
          (error: unknown) => worker.postMessage({ kind: 'put', id: message.id, error: serializeError(error) } satisfies ToWorker),
        );
        return;
      case 'built':
      case 'build-failed': {
        const run = this.runs.get(message.id);
        if (run === undefined) return;
        this.runs.delete(message.id);
        if (message.kind === 'build-failed') return run.reject(deserializeError(message.error));
        try {
          run.resolve({ root: decodeRoot('(the root the index worker built)', message.root), segmentsWritten: message.segmentsWritten, datoms: message.datoms });
        } catch (error) {
          run.reject(error as Error); // a root that does not decode fails the run, not the process
        }
        return;
      }
    }
  }

  /** Stops the worker (a run under way fails). */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    if (worker !== null) await worker.terminate();
  }
}
