//! The node's query threads: a pool of worker threads (query-worker.ts) that run queries (q, qseq)
//! so that the main thread never computes one. The main thread admits a query (the read gate,
//! server.ts), checks its arguments and waits for the bases it names (operations.ts), then hands
//! it here; a worker runs it and answers the bytes the node sends.
//!
//!   request ─▶ read gate ─▶ pool: the least busy worker ─▶ worker: followers, engine, encode
//!                              (queue if every worker     │
//!                               runs its most)            ▼
//!   client ◀──────────────── answer bytes (or the error, code and data kept) ◀──┘
//!
//! Invariants:
//! - A query holds its read-gate place while it waits here and runs, so the queue here is bounded
//!   by the gate (at most FACTUM_READS_MAX queries are anywhere in the pool).
//! - Every query is answered once: with the worker's answer or error; `query/timeout` when one
//!   synchronous run of the engine on it went on past the query's timeout plus a grace (the
//!   engine enforces the timeout itself, so only a call it cannot interrupt gets there: the worker
//!   is stuck, and is terminated); `server/internal` when its worker crashed. A worker terminated
//!   or crashed is replaced by the next query that needs one.
//! - The other queries of a terminated worker, not stuck themselves, run again on another worker
//!   (a query only reads: running it again answers the same), once; a crash fails them all, since
//!   any of them may be what crashed it.
//! - Workers start when load first needs them, and never keep the process alive.
//!
//! Storage reads of the workers are answered here, on the main thread, from its storage object
//! (nodes/storage/proxy/serve-storage.ts): asynchronous I/O, no CPU work to speak of.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';
import { processIoStats, type IoStats } from '../cache/io-stats.ts';
import type { Storage } from '../storage/protocol.ts';
import { ownedCopy } from '../storage/proxy/proxy-protocol.ts';
import { serveStorage } from '../storage/proxy/serve-storage.ts';
import { FactumError } from '../util/errors.ts';
import { deserializeQueryError, encodeRequest, engineRun, type FromQueryWorker, type QueryAnswer, type QueryRequest, type QueryWorkerSettings, type ToQueryWorker } from './query-protocol.ts';
import { queryTimedOut } from './run-query.ts';

/** Past a query's timeout, how long one run of its engine may still go on before its worker counts as stuck. */
const GRACE_MS = 3000;
/** How often, at most, a worker's follower of a database looks for a newer index root. */
const REFRESH_ROOT_MS = 5000;

export interface QueryPoolOptions {
  /** Worker threads at most (started as load needs them). */
  readonly threads: number;
  /** Queries one worker runs at once, interleaved while they wait for segments; more wait in the pool. */
  readonly queriesPerThreadMax: number;
  /** The main thread's storage: it answers the workers' reads. */
  readonly storage: Storage;
  /** The workers' segment cache levels (memory bytes per database, directories). */
  readonly indexing: QueryWorkerSettings['indexing'];
  /** The secret the node's DbRefs seals `with` tokens under (nodes/main.ts). */
  readonly sharedSecret?: Uint8Array;
  /** @default - 3000: past a query's timeout, how long one run of its engine may go on before its worker is terminated */
  readonly graceMs?: number;
  /** @default - 5000: how often, at most, a worker's follower of a database looks for a newer index root */
  readonly refreshRootMs?: number;
  readonly log: {
    warn(fields: object, message?: string): void;
    error(fields: object, message?: string): void;
  };
}

interface Job {
  readonly request: Uint8Array;
  readonly timeoutMs: number;
  readonly resolve: (answer: QueryAnswer) => void;
  readonly reject: (error: Error) => void;
  /** Times sent to a worker. */
  attempts: number;
}

/**
 * One place for a worker: the worker (null until needed, and after it stopped), its queries by
 * id, and what its engine runs now (shared with it: query-protocol.ts `engineRun`).
 */
interface Slot {
  worker: Worker | null;
  readonly running: Map<number, Job>;
  engine: Float64Array;
}

/** How a worker starts: from source under tsx (tests, the CLI), or from the bundle's sibling file. */
function workerEntry(): { readonly file: URL; readonly entry?: string } {
  const here = import.meta.url;
  if (here.endsWith('.ts')) return { file: new URL('../indexer/ts-worker.mjs', here), entry: new URL('./query-worker.ts', here).href };
  return { file: new URL('./query-worker.mjs', here) };
}

/**
 * Segment memory (FACTUM_CACHE_BYTES_MAX, per database) shared by the main thread and the query
 * threads: each its equal part, at least 1 MiB. With no threads the main thread keeps it all.
 */
export function splitCacheBytes(cacheBytesMax: number, threads: number): number {
  return threads === 0 ? cacheBytesMax : Math.max(1 << 20, Math.floor(cacheBytesMax / (threads + 1)));
}

export class QueryPool {
  private readonly slots: Slot[];
  private readonly queue: Job[] = [];
  private readonly entry = workerEntry();
  private readonly graceMs: number;
  private next = 0;
  private closed = false;
  /** Looks for stuck workers while queries run. */
  private watchdog: NodeJS.Timeout | null = null;
  /** False when the worker's file is missing (a bundle without it): queries then run on the main thread. */
  readonly available: boolean;

  constructor(private readonly options: QueryPoolOptions) {
    if (!(options.threads >= 1 && options.queriesPerThreadMax >= 1)) throw new RangeError(`a query pool needs threads and queriesPerThreadMax of at least 1, got ${options.threads} and ${options.queriesPerThreadMax}`);
    this.slots = Array.from({ length: options.threads }, () => ({ worker: null, running: new Map(), engine: new Float64Array(0) }));
    this.graceMs = options.graceMs ?? GRACE_MS;
    this.available = existsSync(fileURLToPath(this.entry.file));
    if (!this.available) options.log.error({ event: 'query-pool/no-worker', file: fileURLToPath(this.entry.file) }, 'the query worker file is missing beside the node; queries run on the main thread');
  }

  /** Runs a query on a worker; its answer as the node sends it, or its error. Encoding the request may throw (wire/unsupported-value). */
  run(request: QueryRequest): Promise<QueryAnswer> {
    if (this.closed) return Promise.reject(stopping());
    const bytes = ownedCopy(encodeRequest(request));
    return new Promise<QueryAnswer>((resolve, reject) => {
      this.queue.push({ request: bytes, timeoutMs: request.timeoutMs, resolve, reject, attempts: 0 });
      this.dispatch();
    });
  }

  /** Sends waiting queries to the least busy workers that have room. */
  private dispatch(): void {
    while (this.queue.length > 0 && !this.closed) {
      let chosen: Slot | null = null;
      for (const slot of this.slots) {
        if (slot.running.size < this.options.queriesPerThreadMax && (chosen === null || slot.running.size < chosen.running.size)) chosen = slot;
      }
      if (chosen === null) return;
      const job = this.queue.shift()!;
      const worker = chosen.worker ?? this.start(chosen);
      const id = this.next++;
      job.attempts++;
      chosen.running.set(id, job);
      worker.postMessage({ kind: 'query', id, request: job.request } satisfies ToQueryWorker);
      this.watchdog ??= setInterval(() => this.lookForStuck(), Math.max(10, Math.min(500, this.graceMs / 4))).unref();
    }
  }

  /** Terminates a worker whose engine has run one query past its timeout and the grace; stops looking when no query runs. */
  private lookForStuck(): void {
    let running = false;
    for (const slot of this.slots) {
      if (slot.worker === null || slot.running.size === 0) continue;
      running = true;
      const id = slot.engine[engineRun.id]!;
      const sinceMs = slot.engine[engineRun.sinceMs]!;
      // Read twice: a run that began between the two reads is not taken for the one before.
      if (id < 0 || slot.engine[engineRun.id] !== id) continue;
      const job = slot.running.get(id);
      if (job !== undefined && Date.now() - sinceMs > job.timeoutMs + this.graceMs) this.stuck(slot, id);
    }
    if (!running && this.watchdog !== null) {
      clearInterval(this.watchdog);
      this.watchdog = null;
    }
  }

  private start(slot: Slot): Worker {
    const { port1, port2 } = new MessageChannel();
    serveStorage(port1, this.options.storage);
    // A new one per worker: what a terminated worker still writes into its own is never read.
    const engine = new SharedArrayBuffer(2 * Float64Array.BYTES_PER_ELEMENT);
    slot.engine = new Float64Array(engine);
    slot.engine[engineRun.id] = -1;
    const settings: QueryWorkerSettings = {
      storagePort: port2,
      storageKind: this.options.storage.kind,
      directReads: this.options.storage.directSegmentReads?.() ?? null,
      indexing: this.options.indexing,
      sharedSecret: this.options.sharedSecret ?? null,
      refreshRootMs: this.options.refreshRootMs ?? REFRESH_ROOT_MS,
      engine,
    };
    const workerData = this.entry.entry === undefined ? settings : { ...settings, entry: this.entry.entry };
    const worker = new Worker(this.entry.file, { workerData, transferList: [port2] });
    worker.unref();
    worker.on('message', (message: FromQueryWorker) => this.received(slot, message));
    const died = (cause: string): void => {
      port1.close();
      if (slot.worker === worker) this.crashed(slot, cause);
    };
    worker.on('error', (error) => died(error.stack ?? String(error)));
    worker.on('exit', (code) => died(`exit code ${code}`));
    slot.worker = worker;
    return worker;
  }

  private received(slot: Slot, message: FromQueryWorker): void {
    if (message.io !== null) addToProcessIo(message.io);
    const job = slot.running.get(message.id);
    if (job === undefined) return; // answered already (its worker was terminated meanwhile)
    slot.running.delete(message.id);
    if (message.kind === 'answered') job.resolve(message.answer);
    else job.reject(deserializeQueryError(message.error));
    this.dispatch();
  }

  /** A worker's engine ran one query past its timeout and the grace: terminated; its queries answered or run again elsewhere. */
  private stuck(slot: Slot, id: number): void {
    const worker = slot.worker;
    const job = slot.running.get(id);
    if (worker === null || job === undefined) return;
    this.options.log.warn({ event: 'query-pool/worker-stuck', timeoutMs: job.timeoutMs, graceMs: this.graceMs, queries: slot.running.size }, 'a query worker computed past a query timeout and its grace; it is terminated and replaced');
    slot.worker = null;
    void worker.terminate();
    const jobs = [...slot.running];
    slot.running.clear();
    const again: Job[] = [];
    for (const [each, other] of jobs) {
      if (each === id) other.reject(queryTimedOut(other.timeoutMs));
      else if (other.attempts < 2) again.push(other);
      else other.reject(workerStopped('it was terminated, stuck on another query, twice'));
    }
    this.queue.unshift(...again);
    this.dispatch();
  }

  /** A worker died by itself: its queries fail (any of them may be the cause); the next query starts another. */
  private crashed(slot: Slot, cause: string): void {
    this.options.log.error({ event: 'query-pool/worker-crashed', cause, queries: slot.running.size }, 'a query worker stopped; its queries fail and it is replaced');
    slot.worker = null;
    const jobs = [...slot.running.values()];
    slot.running.clear();
    for (const job of jobs) job.reject(workerStopped('it crashed'));
    this.dispatch();
  }

  /** Stops every worker; queries waiting or running fail with `server/stopping`. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.watchdog !== null) clearInterval(this.watchdog);
    this.watchdog = null;
    const error = stopping();
    for (const job of this.queue.splice(0)) job.reject(error);
    const workers: Worker[] = [];
    for (const slot of this.slots) {
      for (const job of slot.running.values()) job.reject(error);
      slot.running.clear();
      if (slot.worker !== null) workers.push(slot.worker);
      slot.worker = null;
    }
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

/**
 * A worker's segment reads, added to this process's (its levels' hits and misses, bytes and ms),
 * through the only calls an IoContext has: one hit or miss at a time.
 */
function addToProcessIo(io: IoStats): void {
  for (const [level, stats] of Object.entries(io)) {
    for (let i = 0; i < stats.hits; i++) processIoStats.hit(level, i === 0 ? stats.bytes : 0, i === 0 ? stats.ms : 0);
    for (let i = 0; i < stats.misses; i++) processIoStats.miss(level, i === 0 && stats.hits === 0 ? stats.ms : 0);
  }
}

function workerStopped(how: string): FactumError {
  return new FactumError('server/internal', `The query thread running this query stopped (${how}); the node replaced it and serves on. Retrying may fail the same way; the node's log has the cause.`, {});
}

function stopping(): FactumError {
  return new FactumError('server/stopping', 'This node is stopping; retry against another node or in a moment.', {});
}
