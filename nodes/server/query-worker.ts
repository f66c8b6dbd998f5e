//! A query worker: runs the node's queries (q, qseq) in a worker thread, so that the main thread
//! stays free for other requests, /health, streams and transactions while a query computes.
//! Started by the query pool (query-pool.ts) with `QueryWorkerSettings` as its workerData.
//!
//!   query ──▶ follower of each database named (opened on first use) ──▶ at the ref's basis
//!         ──▶ DbRefs.resolve ──▶ engine (run-query.ts) ──▶ the answer's wire bytes, transferred
//!
//! Each database the worker has queried has a read-only follower here (Transactor, role
//! 'follower'), on a proxy storage whose reads the main thread answers (nodes/storage/proxy/), and
//! its own segment cache (memory, then the node's cache directories, which it reads and fills
//! itself). Before a query, the follower reads the log up to the basis the query names (the main
//! thread has that basis, so the log holds it) and, at most every `refreshRootMs`, moves onto a
//! newer index root. Db values are immutable: the same basis gives the same datoms here as on the
//! main thread, so a query answers the same. The db values of the bases the worker has served are
//! kept (DbRefs, the newest 512), as the main thread keeps those it hands out; a basis this worker
//! never served and can no longer rebuild (older than its follower's index root) answers
//! `db/basis-not-kept`, and operations.ts then runs that query on the main thread, which may
//! still keep it.
//!
//! Queries interleave here as on the main thread: one computes while others wait for segments.
import { parentPort, workerData } from 'node:worker_threads';
import { decode, encode } from '../../client/wire/codec.ts';
import type { DbRef } from '../../client/wire/protocol.ts';
import { processIoStats, type IoStats, type LevelStats } from '../cache/io-stats.ts';
import type { Db } from '../db/db.ts';
import type { DurableBase } from '../db/durable-base.ts';
import { ProxyStorage } from '../storage/proxy/proxy-storage.ts';
import { ownedCopy } from '../storage/proxy/proxy-protocol.ts';
import { Transactor } from '../transactor/transactor.ts';
import { fail } from '../util/errors.ts';
import { DbRefs } from './db-refs.ts';
import { decodeRequest, engineRun, serializeQueryError, type FromQueryWorker, type QueryAnswer, type QueryRequest, type QueryWorkerSettings, type ToQueryWorker } from './query-protocol.ts';
import { runQuery, type EngineRuns } from './run-query.ts';

/** Items a chunk of a qseq answer holds (as the main thread chunks them). */
const CHUNK_ITEMS = 1000;
/** A follower no query has used for this long is closed (its database may be gone). */
const IDLE_MS = 10 * 60_000;

const port = parentPort!;
const settings = workerData as QueryWorkerSettings;
const storage = new ProxyStorage(settings.storagePort, { kind: settings.storageKind, directReads: settings.directReads });
const refs = new DbRefs(settings.sharedSecret ?? undefined);
const engine = new Float64Array(settings.engine);

/** Marks each synchronous run of query `id`'s engine in `engine`, where the pool's watchdog reads it. */
function runsOf(id: number): EngineRuns {
  return {
    begin() {
      engine[engineRun.sinceMs] = Date.now();
      engine[engineRun.id] = id;
    },
    end() {
      engine[engineRun.id] = -1;
    },
  };
}

interface Followed {
  readonly opening: Promise<Transactor>;
  refreshedMs: number;
  usedMs: number;
  /** Queries using it now. */
  running: number;
}

/** This worker's follower of each database, by log name (a database made again under its name has a new one). */
const followed = new Map<string, Followed>();

/** The follower `entry` opens, with the log read up to `basisT`, on a newer root when it is time to look for one. */
async function follow(entry: Followed, basisT: number): Promise<Transactor> {
  const transactor = await entry.opening;
  const now = Date.now();
  if (now - entry.refreshedMs >= settings.refreshRootMs) {
    entry.refreshedMs = now;
    await transactor.refreshRoot();
  }
  if (basisT > transactor.db().basisT) await transactor.catchUp();
  return transactor;
}

/**
 * The db value `ref` names. The exact db value of its basis is kept first (DbRefs, the newest
 * 512): once this worker has served a basis, it still answers it after its follower moves onto a
 * newer index root, as the main thread does for the bases it hands out.
 */
async function resolve(ref: DbRef, transactor: Transactor): Promise<Db> {
  if (ref.with === undefined) refs.keep(transactor, await refs.resolve({ database: ref.database, basisT: ref.basisT }, transactor));
  return refs.resolve(ref, transactor);
}

function entryOf(log: string): Followed {
  let entry = followed.get(log);
  if (entry === undefined) {
    const opening = Transactor.open(storage, log, { role: 'follower', indexing: { ...settings.indexing, worker: false } });
    const opened: Followed = { opening, refreshedMs: Date.now(), usedMs: Date.now(), running: 0 };
    // A failed opening fails the queries waiting on it (they await it); the next query opens again.
    opening.catch(() => followed.get(log) === opened && followed.delete(log));
    followed.set(log, (entry = opened));
  }
  return entry;
}

/**
 * The basis a reference needs the follower to have: its basis t, or for a speculative db value
 * (`with`) the basis its token was made on. A token that does not decode needs none: resolving it
 * refuses it (db/invalid-reference).
 */
function basisNeeded(ref: DbRef): number {
  if (ref.with === undefined) return ref.basisT;
  const payload = ref.with.split('.')[0] ?? '';
  let sealed: unknown;
  try {
    sealed = decode(Buffer.from(payload, 'base64url'));
  } catch {
    return 0;
  }
  const basisT = Array.isArray(sealed) ? sealed[1] : undefined;
  return typeof basisT === 'number' ? basisT : 0;
}

/** This thread's segment reads as last reported to the main thread. */
let reportedIo = processIoStats.snapshot();

/** This thread's segment reads since the last report, by level; null when there were none. */
function ioSinceReported(): IoStats | null {
  const now = processIoStats.snapshot();
  const delta: Record<string, LevelStats> = {};
  let any = false;
  for (const [level, stats] of Object.entries(now)) {
    const before = reportedIo[level] ?? { hits: 0, misses: 0, bytes: 0, ms: 0 };
    if (stats.hits === before.hits && stats.misses === before.misses) continue;
    delta[level] = { hits: stats.hits - before.hits, misses: stats.misses - before.misses, bytes: stats.bytes - before.bytes, ms: stats.ms - before.ms };
    any = true;
  }
  reportedIo = now;
  return any ? delta : null;
}

/** Closes the followers no query has used for IDLE_MS. */
function closeIdle(): void {
  const now = Date.now();
  for (const [log, entry] of followed) {
    if (entry.running > 0 || now - entry.usedMs < IDLE_MS) continue;
    followed.delete(log);
    entry.opening.then(
      (transactor) => transactor.close(),
      () => undefined, // its opening failed: nothing to close (the query that opened it got the error)
    ).catch((error: unknown) => console.error(`factum query worker: could not close the follower of ${log}: ${String(error)}`));
  }
}

/** The answer's wire bytes: what the main thread sends the client as it is. */
function answerOf(request: QueryRequest, result: unknown): QueryAnswer {
  if (!request.stream) return { kind: 'value', message: ownedCopy(encode(result)) };
  if (!Array.isArray(result)) fail('query/invalid-input', 'qseq needs a relation or collection find spec.', {});
  const chunks: Array<{ items: number; message: Uint8Array }> = [];
  for (let i = 0; i < result.length; i += CHUNK_ITEMS) {
    const items = result.slice(i, i + CHUNK_ITEMS);
    chunks.push({ items: items.length, message: ownedCopy(encode({ items })) });
  }
  return { kind: 'items', chunks };
}

async function answer(id: number, bytes: Uint8Array): Promise<void> {
  const entries: Followed[] = [];
  try {
    const request = decodeRequest(bytes);
    const args = [...request.args];
    let base: DurableBase | null = null;
    for (const { position, ref, log } of request.dbs) {
      const entry = entryOf(log);
      entry.usedMs = Date.now();
      entry.running++;
      entries.push(entry);
      const db = await resolve(ref, await follow(entry, basisNeeded(ref)));
      args[position] = db;
      base ??= db.state.base;
    }
    const result = await runQuery(base, { query: request.query, args, timeoutMs: request.timeoutMs, offset: request.offset, limit: request.limit }, runsOf(id));
    const reply = answerOf(request, result);
    const messages = reply.kind === 'value' ? [reply.message] : reply.chunks.map((chunk) => chunk.message);
    port.postMessage({ kind: 'answered', id, answer: reply, io: ioSinceReported() } satisfies FromQueryWorker, messages.map((message) => message.buffer as ArrayBuffer));
  } catch (error) {
    port.postMessage({ kind: 'failed', id, error: serializeQueryError(error), io: ioSinceReported() } satisfies FromQueryWorker);
  } finally {
    for (const entry of entries) entry.running--;
    closeIdle();
  }
}

port.on('message', (message: ToQueryWorker) => {
  void answer(message.id, message.request);
});
