// The query pool with real worker threads (from source, through tsx) over a database on memory
// storage: its answers are the main thread's (the same engine on the same db values), through new
// transactions, index runs and speculative db values; errors keep their code and data; a query
// past its timeout is interrupted; a stuck worker is terminated and one that dies is replaced,
// and the pool serves on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode } from '../../client/wire/codec.ts';
import type { DbRef } from '../../client/wire/protocol.ts';
import { processIoStats } from '../cache/io-stats.ts';
import { readDb } from '../db/durable-base.ts';
import { query } from '../query/index.ts';
import { createMemoryStorage } from '../storage/memory/memory-storage.ts';
import type { Storage } from '../storage/protocol.ts';
import { Transactor } from '../transactor/transactor.ts';
import { kw } from '../values/values.ts';
import { DbRefs } from './db-refs.ts';
import { QueryPool, splitCacheBytes } from './query-pool.ts';
import type { QueryAnswer, QueryRequest } from './query-protocol.ts';

const indexing = { noveltyBytesMax: 1e9, backPressureBytes: 1e10, leafMax: 8, branchMax: 8, tier0Max: 100 };
const secret = new Uint8Array(32).fill(3);
const silent = { warn: () => undefined, error: () => undefined };

let storage: Storage;
let transactor: Transactor;
let pool: QueryPool;

beforeAll(async () => {
  storage = createMemoryStorage();
  transactor = await Transactor.open(storage, 'db-1', { indexing });
  await transactor.transact([{ 'db/ident': kw('n'), 'db/valueType': kw('db.type/long'), 'db/cardinality': kw('db.cardinality/one') }]);
  await transactor.transact(Array.from({ length: 300 }, (_, n) => ({ n })));
  // Part of the datoms in durable trees (segments read through the main thread), part novelty.
  await transactor.indexNow();
  await transactor.transact(Array.from({ length: 20 }, (_, n) => ({ n: 1000 + n })));
  pool = new QueryPool({ threads: 2, queriesPerThreadMax: 4, storage, indexing: { cacheBytesMax: 1 << 20 }, sharedSecret: secret, graceMs: 300, log: silent });
});

afterAll(async () => {
  await pool.close();
  await transactor.close();
});

function request(queryForm: string, ref: DbRef, more: Partial<QueryRequest> = {}): QueryRequest {
  return { query: queryForm, args: [ref], dbs: [{ position: 0, ref, log: transactor.logName }], timeoutMs: 10_000, offset: null, limit: null, stream: false, ...more };
}

function valueOf(answer: QueryAnswer): unknown {
  if (answer.kind !== 'value') throw new Error(`expected a value, got ${answer.kind}`);
  return decode(answer.message);
}

function refNow(): DbRef {
  return { database: 'a', basisT: transactor.db().basisT };
}

/** The same query on the main thread. */
async function onMainThread(queryForm: string): Promise<unknown> {
  const db = transactor.db();
  return readDb(db.state.base, () => query({ query: queryForm, args: [db] }));
}

describe('query pool', () => {
  it('answers as the main thread does, from trees and novelty', async () => {
    const queries = ['[:find (count ?e) . :where [?e :n]]', '[:find (sum ?n) . :where [_ :n ?n]]', '[:find ?n :where [?e :n ?n] [(< ?n 5)]]', '[:find [?n ...] :where [?e :n ?n] [(>= ?n 1015)]]'];
    for (const form of queries) expect(valueOf(await pool.run(request(form, refNow())))).toEqual(await onMainThread(form));
  });

  it('follows new transactions and index runs: a newer basis answers its datoms', async () => {
    const before = refNow();
    await transactor.transact([{ n: 5000 }]);
    const after = refNow();
    const form = '[:find (max ?n) . :where [_ :n ?n]]';
    expect(valueOf(await pool.run(request(form, after)))).toBe(5000);
    // The older basis is still answered as it was.
    expect(valueOf(await pool.run(request(form, before)))).toBe(1019);
    await transactor.indexNow();
    await transactor.transact([{ n: 6000 }]);
    expect(valueOf(await pool.run(request(form, refNow())))).toBe(6000);
    expect(valueOf(await pool.run(request(form, { ...refNow(), asOf: after.basisT })))).toBe(5000);
  });

  it('still answers a basis it served once its follower is on a newer index root; refuses one it never served', async () => {
    const rooted = new QueryPool({ threads: 1, queriesPerThreadMax: 1, storage, indexing: {}, refreshRootMs: 0, log: silent });
    const form = '[:find (count ?e) . :where [?e :n ?n] [(>= ?n 5500)] [(< ?n 5600)]]';
    const unseen = refNow();
    await transactor.transact([{ n: 5500 }]);
    const served = refNow();
    expect(valueOf(await rooted.run(request(form, served)))).toBe(1);
    // More transactions than a follower keeps db values of, then a new root the worker moves onto.
    for (let i = 0; i < 70; i++) await transactor.transact([{ n: 5501 + i }]);
    await transactor.indexNow();
    expect(valueOf(await rooted.run(request(form, refNow())))).toBe(71);
    expect(valueOf(await rooted.run(request(form, served)))).toBe(1);
    // The main thread answers this one (operations.ts), from the db values it keeps.
    await expect(rooted.run(request(form, unseen))).rejects.toMatchObject({ code: 'db/basis-not-kept' });
    await rooted.close();
  });

  it('answers speculative db values sealed with the shared secret, and refuses them under another', async () => {
    const base = transactor.db();
    const report = base.with([{ n: 7777 }]);
    const token = new DbRefs(secret).sealWith(transactor, undefined, base, report.dbAfter, report.txData);
    const ref: DbRef = { database: 'a', basisT: report.dbAfter.basisT, with: token };
    expect(valueOf(await pool.run(request('[:find (max ?n) . :where [_ :n ?n]]', ref)))).toBe(7777);
    const foreign = new DbRefs(new Uint8Array(32).fill(9)).sealWith(transactor, undefined, base, report.dbAfter, report.txData);
    await expect(pool.run(request('[:find (max ?n) . :where [_ :n ?n]]', { ...ref, with: foreign }))).rejects.toMatchObject({ code: 'db/invalid-reference' });
  });

  it('answers qseq as chunks of 1,000 items, and refuses a scalar find spec', async () => {
    await transactor.transact(Array.from({ length: 2200 }, (_, n) => ({ n: 10_000 + n })));
    const answer = await pool.run(request('[:find ?n :where [_ :n ?n] [(>= ?n 10000)]]', refNow(), { stream: true }));
    if (answer.kind !== 'items') throw new Error('expected items');
    expect(answer.chunks.map((chunk) => chunk.items)).toEqual([1000, 1000, 200]);
    const items = answer.chunks.flatMap((chunk) => (decode(chunk.message) as { items: unknown[] }).items);
    expect(items.map((row) => (row as number[])[0]).sort((a, b) => a - b)).toEqual(Array.from({ length: 2200 }, (_, n) => 10_000 + n));
    await expect(pool.run(request('[:find (count ?e) . :where [?e :n]]', refNow(), { stream: true }))).rejects.toMatchObject({ code: 'query/invalid-input' });
  });

  it('keeps the code, category and data of errors', async () => {
    await expect(pool.run(request('[:find ?e :where [?e :nope]]', refNow()))).rejects.toMatchObject({ code: 'query/unknown-attribute', category: 'incorrect' });
    await expect(pool.run(request('[:find ?e :where', refNow()))).rejects.toMatchObject({ code: 'edn/syntax' });
    await expect(pool.run(request('[:find ?x :where [?e :n ?n]]', refNow()))).rejects.toMatchObject({ code: 'query/unbound-variable', category: 'incorrect' });
    await expect(pool.run(request('[:find ?e . :where [?e :n]]', { ...refNow(), basisT: 1 }))).rejects.toMatchObject({ code: 'db/basis-not-kept', data: { basisT: 1 } });
  });

  it('interrupts a query past its timeout with query/timeout naming the timeout asked for', async () => {
    const started = performance.now();
    const slow = '[:find (count ?a) :where [?a :n ?x] [?b :n ?y] [(< ?x ?y)]]';
    await expect(pool.run(request(slow, refNow(), { timeoutMs: 20 }))).rejects.toMatchObject({ code: 'query/timeout', category: 'interrupted', data: { timeoutMs: 20 } });
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('terminates a worker stuck past a query timeout and its grace, answers query/timeout, and serves on', async () => {
    // A regular expression that backtracks for ages: one call the engine cannot interrupt.
    const stuck = '[:find ?m . :in $ ?s :where [(re-find "^(a+)+$" ?s) ?m]]';
    const ref = refNow();
    const started = performance.now();
    const hung = pool.run({ ...request(stuck, ref), args: [ref, `${'a'.repeat(40)}b`], timeoutMs: 50 });
    // Queries beside it: on the other worker, or run again once the stuck one is terminated.
    const beside = Array.from({ length: 6 }, () => pool.run(request('[:find (count ?e) . :where [?e :n]]', ref)));
    await expect(hung).rejects.toMatchObject({ code: 'query/timeout', data: { timeoutMs: 50 } });
    expect(performance.now() - started).toBeLessThan(5000);
    for (const answer of await Promise.all(beside)) expect(valueOf(answer)).toBe(await onMainThread('[:find (count ?e) . :where [?e :n]]'));
    expect(valueOf(await pool.run(request('[:find (max ?n) . :where [_ :n ?n]]', refNow())))).toBe(12_199);
  });

  it('takes no worker for stuck while one query computes (within its timeout) and others wait behind it', async () => {
    const warnings: object[] = [];
    // The grace covers how late the engine notices its timeout; the short queries wait far longer.
    const single = new QueryPool({ threads: 1, queriesPerThreadMax: 4, storage, indexing: {}, graceMs: 1000, log: { warn: (fields) => warnings.push(fields), error: (fields) => warnings.push(fields) } });
    const ref = refNow();
    // One synchronous run of about 2 s (the engine interrupts it), and short queries behind it.
    const long = single.run(request('[:find (count ?a) :where [?a :n ?x] [?b :n ?y] [(< ?x ?y)]]', ref, { timeoutMs: 2000 }));
    const short = Array.from({ length: 3 }, () => single.run(request('[:find (count ?e) . :where [?e :n]]', ref, { timeoutMs: 50 })));
    await expect(long).rejects.toMatchObject({ code: 'query/timeout', data: { timeoutMs: 2000 } });
    for (const answer of await Promise.all(short)) expect(valueOf(answer)).toBe(await onMainThread('[:find (count ?e) . :where [?e :n]]'));
    expect(warnings).toEqual([]);
    await single.close();
  });

  it('answers server/internal for the queries of a worker that dies, and replaces it', async () => {
    const slow = '[:find (count ?a) :where [?a :n ?x] [?b :n ?y] [(< ?x ?y)]]';
    const running = pool.run(request(slow, refNow(), { timeoutMs: 30_000 }));
    // As an out-of-memory kill would: the worker's thread ends under the pool.
    const slots = (pool as unknown as { slots: Array<{ worker: { terminate(): Promise<number> } | null; running: Map<number, unknown> }> }).slots;
    while (!slots.some((slot) => slot.running.size > 0 && slot.worker !== null)) await new Promise((resolve) => setTimeout(resolve, 5));
    await slots.find((slot) => slot.running.size > 0)!.worker!.terminate();
    await expect(running).rejects.toMatchObject({ code: 'server/internal', category: 'fault' });
    expect(valueOf(await pool.run(request('[:find (count ?e) . :where [?e :n]]', refNow())))).toBe(await onMainThread('[:find (count ?e) . :where [?e :n]]'));
  });

  it("adds the workers' segment reads to the process's (ioStats, metrics)", async () => {
    const fresh = new QueryPool({ threads: 1, queriesPerThreadMax: 1, storage, indexing: {}, log: silent });
    const before = processIoStats.snapshot().storage?.hits ?? 0;
    // A new worker reads the trees' segments from storage, through the main thread.
    expect(valueOf(await fresh.run(request('[:find (count ?e) . :where [?e :n]]', refNow())))).toBe(await onMainThread('[:find (count ?e) . :where [?e :n]]'));
    expect(processIoStats.snapshot().storage?.hits ?? 0).toBeGreaterThan(before);
    await fresh.close();
  });

  it('fails queries with server/stopping once closed', async () => {
    const closing = new QueryPool({ threads: 1, queriesPerThreadMax: 1, storage, indexing: {}, log: silent });
    const answer = expect(closing.run(request('[:find (count ?a) :where [?a :n ?x] [?b :n ?y] [(< ?x ?y)]]', refNow()))).rejects.toMatchObject({ code: 'server/stopping' });
    await closing.close();
    await answer;
    await expect(closing.run(request('[:find ?e . :where [?e :n]]', refNow()))).rejects.toMatchObject({ code: 'server/stopping' });
  });

  it('splits segment memory equally between the main thread and the query threads', () => {
    expect(splitCacheBytes(256 << 20, 0)).toBe(256 << 20);
    expect(splitCacheBytes(256 << 20, 1)).toBe(128 << 20);
    expect(splitCacheBytes(256 << 20, 3)).toBe(64 << 20);
    expect(splitCacheBytes(2 << 20, 7)).toBe(1 << 20);
  });
});
