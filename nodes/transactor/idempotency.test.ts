import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { createMemoryStorage } from '../storage/memory/memory-storage.ts';
import { openLocalStorage } from '../storage/local/local-storage.ts';
import { withFaults } from '../storage/fault.ts';
import type { LogEntry, Storage } from '../storage/protocol.ts';
import type { FactumError} from '../util/errors.ts';
import { isFactumError } from '../util/errors.ts';
import { kw } from '../values/values.ts';
import { controlledAppends as controlledStorage, gate } from '../storage/controlled-appends.ts';
import { decodeLogEntry } from './log-record.ts';
import { Transactor, type TransactorOptions, type TransactResult } from './transactor.ts';

const schema = [
  { 'db/ident': kw('item/sku'), 'db/valueType': kw('db.type/string'), 'db/cardinality': kw('db.cardinality/one'), 'db/unique': kw('db.unique/identity') },
  { 'db/ident': kw('item/count'), 'db/valueType': kw('db.type/long'), 'db/cardinality': kw('db.cardinality/one') },
];
/** Not idempotent by itself: each time it is applied it makes a new entity. */
const order = (n: number) => [{ 'db/id': 'order', 'item/count': n }];
const orders = (t: Transactor): number => [...t.db().datoms('aevt', kw('item/count'))].length;
const LOG = 'db-x';
const noIndexing: TransactorOptions = { indexing: false };

/** Every transaction of the log: its t and its key. */
async function logged(storage: Storage, log = LOG): Promise<Array<{ t: number; key: string | undefined; position: number }>> {
  const out = [];
  for await (const entry of storage.readLog(log, 0)) {
    for (const x of decodeLogEntry(entry.bytes, entry.position)) out.push({ t: x.t, key: x.idempotencyKey, position: entry.position });
  }
  return out;
}
const timesLogged = async (storage: Storage, key: string): Promise<number> => (await logged(storage)).filter((x) => x.key === key).length;

const datomsOf = (r: TransactResult) => r.txData.map((d) => [d.e, d.a, d.v, d.tx, d.added]);

/** The answer to a retry must be the original's, marked duplicate. */
function expectSameAnswer(original: TransactResult, retry: TransactResult): void {
  expect(original.duplicate).toBe(false);
  expect(retry.duplicate).toBe(true);
  expect(retry.t).toBe(original.t);
  expect(retry.tempids).toEqual(original.tempids);
  expect(datomsOf(retry)).toEqual(datomsOf(original));
  expect(retry.dbAfter.asOfT).toBe(original.t);
  expect(retry.dbBefore.asOfT).toBe(original.t - 1);
}

async function opened(storage: Storage, options: TransactorOptions = noIndexing): Promise<Transactor> {
  const t = await Transactor.open(storage, LOG, options);
  if (t.db().basisT === 0) await t.transact(schema);
  return t;
}

/** Counts the log entries read through it. */
function countingReads(inner: Storage): { storage: Storage; entriesRead: () => number } {
  let entries = 0;
  const storage = new Proxy(inner, {
    get(target, property) {
      if (property === 'readLog') {
        return async function* (log: string, start: number, end?: number): AsyncIterable<LogEntry> {
          for await (const entry of inner.readLog(log, start, end)) {
            entries++;
            yield entry;
          }
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as Storage;
  return { storage, entriesRead: () => entries };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('idempotency keys', () => {
  it('answers a second submission of a committed key with the original, writing nothing', async () => {
    const storage = createMemoryStorage();
    const t = await opened(storage);
    const first = await t.transact(order(1), { idempotencyKey: 'order-1' });
    expect(first.t).toBe(first.dbAfter.basisT);
    await t.transact(order(2)); // something after it: the retry still answers the original's t
    const length = await storage.logLength(LOG);
    const retry = await t.transact(order(99), { idempotencyKey: 'order-1' });
    expectSameAnswer(first, retry);
    expect(retry.tempids['order']).toBe(first.tempids['order']);
    expect(await storage.logLength(LOG)).toBe(length);
    expect(await timesLogged(storage, 'order-1')).toBe(1);
    expect(orders(t)).toBe(2);
  });

  it('writes entries without keys as before (version 1), and keyed ones as version 2', async () => {
    const storage = createMemoryStorage();
    const t = await opened(storage);
    await t.transact(order(1));
    await t.transact(order(2), { idempotencyKey: 'k' });
    const versions: number[] = [];
    for await (const entry of storage.readLog(LOG, 0)) versions.push(entry.bytes[0]!);
    expect(versions).toEqual([1, 1, 2]);
  });

  it('applies once two submissions of one key in the same group-commit batch', async () => {
    const held = gate();
    const { storage, entered } = controlledStorage(async (n) => (n === 2 ? (await held.promise, 'ok') : 'ok'));
    const t = await opened(storage);
    const blocker = t.transact(order(0)); // append 2, held: the next three queue into one batch
    await entered(2);
    const [a, b, c] = [t.transact(order(1), { idempotencyKey: 'same' }), t.transact(order(1), { idempotencyKey: 'same' }), t.transact(order(7))];
    held.open();
    await blocker;
    const [ra, rb] = await Promise.all([a, b]);
    await c;
    expectSameAnswer(ra, rb);
    expect(await timesLogged(storage, 'same')).toBe(1);
    expect(orders(t)).toBe(3);
  });

  it('applies once a key submitted again while the original is written (the pipelined batch)', async () => {
    const held = gate();
    const { storage, entered } = controlledStorage(async (n) => (n === 2 ? (await held.promise, 'ok') : 'ok'));
    const t = await opened(storage);
    const first = t.transact(order(1), { idempotencyKey: 'p' }); // append 2, held
    await entered(2);
    const again = t.transact(order(1), { idempotencyKey: 'p' }); // would be prepared against the entry in flight
    const other = t.transact(order(2));
    await settle();
    held.open();
    expectSameAnswer(await first, await again);
    await other;
    expect(await timesLogged(storage, 'p')).toBe(1);
    expect(orders(t)).toBe(2);
  });

  it('processes a waiting retry afresh when the original was not written, and applies it once', async () => {
    const held = gate();
    const { storage, entered } = controlledStorage(async (n) => (n === 2 ? (await held.promise, 'fail') : 'ok'));
    const t = await opened(storage);
    const first = t.transact(order(1), { idempotencyKey: 'w' });
    await entered(2);
    const again = t.transact(order(1), { idempotencyKey: 'w' });
    await settle();
    held.open();
    await expect(first).rejects.toMatchObject({ code: 'storage/unavailable' });
    const retry = await again;
    expect(retry.duplicate).toBe(false);
    expect(await timesLogged(storage, 'w')).toBe(1);
    expect(orders(t)).toBe(1);
    expectSameAnswer(retry, await t.transact(order(1), { idempotencyKey: 'w' }));
  });

  it('processes a retry afresh when the original was refused, alone or in the same batch', async () => {
    const storage = createMemoryStorage();
    const t = await opened(storage);
    await expect(t.transact([{ 'item/count': 'one' }], { idempotencyKey: 'r1' })).rejects.toMatchObject({ code: 'value/wrong-type' });
    const retry = await t.transact(order(1), { idempotencyKey: 'r1' });
    expect(retry.duplicate).toBe(false);
    // Submitted together: the second waits for the first, which is refused; then it is processed.
    const bad = t.transact([{ 'item/count': 'two' }], { idempotencyKey: 'r2' });
    const good = t.transact(order(2), { idempotencyKey: 'r2' });
    await expect(bad).rejects.toMatchObject({ code: 'value/wrong-type' });
    expect((await good).duplicate).toBe(false);
    expect(await timesLogged(storage, 'r1')).toBe(1);
    expect(await timesLogged(storage, 'r2')).toBe(1);
    expect(orders(t)).toBe(2);
  });

  it('refuses invalid keys with transact/invalid-idempotency-key, writing nothing', async () => {
    const storage = createMemoryStorage();
    const t = await opened(storage);
    const length = await storage.logLength(LOG);
    for (const key of ['', 'x'.repeat(129), 'a b', 'a/b', 'é', 'key\n', 42, null, {}, ['k']]) {
      const attempt = t.transact(order(1), { idempotencyKey: key as string });
      await expect(attempt).rejects.toMatchObject({ code: 'transact/invalid-idempotency-key', data: { idempotencyKey: key } });
      await attempt.catch((error: FactumError) => expect(error.message).toMatch(/1 to 128/));
    }
    expect(await storage.logLength(LOG)).toBe(length);
    expect(orders(t)).toBe(0);
    expect((await t.transact(order(1), { idempotencyKey: `${'x'.repeat(120)}.:_-AZ09` })).duplicate).toBe(false);
  });

  it('answers a retry after the database is reopened over the same memory storage', async () => {
    const storage = createMemoryStorage();
    const t = await opened(storage);
    const first = await t.transact(order(1), { idempotencyKey: 'restart' });
    await t.close();
    const reopened = await Transactor.open(storage, LOG, noIndexing);
    expectSameAnswer(first, await reopened.transact(order(1), { idempotencyKey: 'restart' }));
    expect(await timesLogged(storage, 'restart')).toBe(1);
    expect(orders(reopened)).toBe(1);
  });

  it('answers a retry after the database is reopened on local storage', async () => {
    const directory = await mkdtemp(path.join(os.tmpdir(), 'factum-idempotency-'));
    try {
      const storage = await openLocalStorage(directory);
      const t = await opened(storage, {});
      const first = await t.transact(order(1), { idempotencyKey: 'local' });
      await t.close();
      await storage.close();
      const again = await openLocalStorage(directory);
      const reopened = await Transactor.open(again, LOG);
      expectSameAnswer(first, await reopened.transact(order(1), { idempotencyKey: 'local' }));
      expect(await timesLogged(again, 'local')).toBe(1);
      await reopened.close();
      await again.close();
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('finds keys before the index root after a restart, whether or not the log after the root has keys', async () => {
    const indexing: TransactorOptions = { indexing: { noveltyBytesMax: 200, backPressureBytes: 1e9 } };
    for (const keysAfterRoot of [false, true]) {
      const storage = createMemoryStorage();
      const t = await opened(storage, indexing);
      const first = await t.transact(order(1), { idempotencyKey: 'before-root' });
      for (let i = 0; i < 5; i++) await t.transact(order(10 + i));
      await t.indexNow();
      if (keysAfterRoot) await t.transact(order(20), { idempotencyKey: 'after-root' });
      const root = t.indexing!.indexer.root!;
      const position = (await logged(storage)).find((x) => x.key === 'before-root')!.position;
      expect(root.logPosition).toBeGreaterThan(position);
      await t.close();
      const reopened = await Transactor.open(storage, LOG, indexing);
      expectSameAnswer(first, await reopened.transact(order(1), { idempotencyKey: 'before-root' }));
      expect(await timesLogged(storage, 'before-root')).toBe(1);
      await reopened.close();
    }
  });

  it('forgets keys committed before the window, in memory and when reopened, and reads the log back no further', async () => {
    const hour = 3_600_000;
    const storage = createMemoryStorage();
    const options: TransactorOptions = { indexing: { noveltyBytesMax: 1e9, backPressureBytes: 1e10 } };
    const t = await Transactor.open(storage, LOG, options);
    // The window runs from the transactor's clock at commit: these are committed two hours ago.
    // (Date.now only: a faked Date class would make the Dates made before it values of another type.)
    const twoHoursAgo = Date.now() - 2 * hour;
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => twoHoursAgo);
    let stale: TransactResult;
    try {
      await t.transact(schema);
      stale = await t.transact(order(1), { idempotencyKey: 'stale' });
      await t.transact(order(3), { idempotencyKey: 'stale-too' });
      for (let i = 0; i < 200; i++) await t.transact(order(100 + i));
    } finally {
      clock.mockRestore();
    }
    const fresh = await t.transact(order(2), { idempotencyKey: 'fresh' });
    // In memory: the stale key is past the window, so its retry is a new transaction.
    const retried = await t.transact(order(1), { idempotencyKey: 'stale' });
    expect(retried.duplicate).toBe(false);
    expect(retried.t).not.toBe(stale.t);
    expectSameAnswer(fresh, await t.transact(order(2), { idempotencyKey: 'fresh' }));
    await t.indexNow();
    await t.close();
    // Reopened, every key lies before the root: the log is read backwards only as far as the window.
    const counting = countingReads(storage);
    const reopened = await Transactor.open(counting.storage, LOG, options);
    expectSameAnswer(fresh, await reopened.transact(order(2), { idempotencyKey: 'fresh' }));
    expect(counting.entriesRead()).toBeLessThan(100);
    expect((await reopened.transact(order(3), { idempotencyKey: 'stale-too' })).duplicate).toBe(false);
    expect(await timesLogged(storage, 'stale-too')).toBe(2);
    await reopened.close();
  });

  it('an acknowledged transaction with a :db/txInstant a year ago is applied once when retried, in memory and after reopen', async () => {
    // An import of old history keeps its dates; it is committed now, so its key is within the window.
    const yearAgo = new Date(Date.now() - 365 * 86_400_000);
    const dated = (txData: readonly unknown[]): unknown[] => [...txData, ['db/add', 'datomic.tx', 'db/txInstant', yearAgo]];
    const indexing: TransactorOptions = { indexing: { noveltyBytesMax: 1e9, backPressureBytes: 1e10 } };
    for (const options of [noIndexing, indexing]) {
      const storage = createMemoryStorage();
      const t = await Transactor.open(storage, LOG, options);
      await t.transact(dated(schema));
      const first = await t.transact(dated(order(1)), { idempotencyKey: 'import-1' });
      for (let i = 0; i < 3; i++) await t.transact(dated(order(10 + i))); // more old history, without keys
      expectSameAnswer(first, await t.transact(dated(order(1)), { idempotencyKey: 'import-1' }));
      await t.indexNow();
      if (options === indexing) {
        // The key lies before the root: found by reading the log backwards, through old-dated entries.
        const position = (await logged(storage)).find((x) => x.key === 'import-1')!.position;
        expect(t.indexing!.indexer.root!.logPosition).toBeGreaterThan(position + 1);
      }
      await t.close();
      const reopened = await Transactor.open(storage, LOG, options);
      const retry = await reopened.transact(dated(order(1)), { idempotencyKey: 'import-1' });
      expectSameAnswer(first, retry);
      expect(retry.t).toBe(first.t);
      expect(await timesLogged(storage, 'import-1')).toBe(1);
      expect(orders(reopened)).toBe(4);
      await reopened.close();
    }
  });

  it('keeps only the newest idempotencyKeysMax keys, in memory and when reopened', async () => {
    const storage = createMemoryStorage();
    const options: TransactorOptions = { idempotencyKeysMax: 3, indexing: { noveltyBytesMax: 1e9, backPressureBytes: 1e10 } };
    const t = await opened(storage, options);
    const results: TransactResult[] = [];
    for (let i = 0; i < 5; i++) results.push(await t.transact(order(i), { idempotencyKey: `k${i}` }));
    await t.indexNow();
    await t.close();
    const reopened = await Transactor.open(storage, LOG, options);
    // Newest first: checking k4..k2 keeps them (a new transaction would push the oldest out).
    for (const i of [4, 3, 2]) expectSameAnswer(results[i]!, await reopened.transact(order(i), { idempotencyKey: `k${i}` }));
    expect((await reopened.transact(order(1), { idempotencyKey: 'k1' })).duplicate).toBe(false);
    // In memory: k1's new transaction pushed k2 out.
    expect((await reopened.transact(order(2), { idempotencyKey: 'k2' })).duplicate).toBe(false);
    expectSameAnswer(results[4]!, await reopened.transact(order(4), { idempotencyKey: 'k4' }));
    await reopened.close();
  });

  it('answers with the later transaction a key logged twice (forgotten past idempotencyKeysMax, then used again)', async () => {
    const storage = createMemoryStorage();
    const options: TransactorOptions = { idempotencyKeysMax: 1, indexing: false };
    const t = await opened(storage, options);
    await t.transact(order(1), { idempotencyKey: 'a' });
    await t.transact(order(2), { idempotencyKey: 'b' }); // pushes a out
    const again = await t.transact(order(1), { idempotencyKey: 'a' });
    expect(again.duplicate).toBe(false);
    expect(await timesLogged(storage, 'a')).toBe(2);
    await t.close();
    const reopened = await Transactor.open(storage, LOG, { ...options, idempotencyKeysMax: 10 });
    expectSameAnswer(again, await reopened.transact(order(1), { idempotencyKey: 'a' }));
  });

  it('counts a key whose append failed after it was written, and answers its retry', async () => {
    const storage = withFaults(createMemoryStorage(), { seed: 1, failAfterWriteRate: 1, operations: ['appendLog'] });
    storage.faults.enabled = false;
    const t = await opened(storage);
    storage.faults.enabled = true;
    const first = await t.transact(order(1), { idempotencyKey: 'despite' }); // written despite the failure
    expect(storage.faults.events.length).toBe(1);
    storage.faults.enabled = false;
    expectSameAnswer(first, await t.transact(order(1), { idempotencyKey: 'despite' }));
    expect(await timesLogged(storage, 'despite')).toBe(1);
  });

  it('never applies twice a key whose failed append landed unseen: the retry is fenced, and answered after reconnecting', async () => {
    // appendLog writes and then fails; the read-back of the position fails too, so the
    // transactor cannot tell it was written and the client sees an error.
    const inner = createMemoryStorage();
    const readsFail = withFaults(inner, { seed: 2, failRate: 1, operations: ['readLog'] });
    const storage = withFaults(readsFail, { seed: 3, failAfterWriteRate: 1, operations: ['appendLog'] });
    readsFail.faults.enabled = false;
    storage.faults.enabled = false;
    const t = await opened(storage);
    readsFail.faults.enabled = true;
    storage.faults.enabled = true;
    await expect(t.transact(order(1), { idempotencyKey: 'unseen' })).rejects.toMatchObject({ code: 'storage/unavailable' });
    readsFail.faults.enabled = false;
    storage.faults.enabled = false;
    await expect(t.transact(order(1), { idempotencyKey: 'unseen' })).rejects.toMatchObject({ code: 'storage/conflict' });
    const reconnected = await Transactor.open(inner, LOG, noIndexing);
    const retry = await reconnected.transact(order(1), { idempotencyKey: 'unseen' });
    expect(retry.duplicate).toBe(true);
    expect(await timesLogged(inner, 'unseen')).toBe(1);
    expect(orders(reconnected)).toBe(1);
  });

  it('applies each key once when clients retry through seeded append failures until answered', async () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const inner = createMemoryStorage();
      const storage = withFaults(inner, { seed, failRate: 0.2, failAfterWriteRate: 0.2, operations: ['appendLog'] });
      storage.faults.enabled = false;
      let t = await opened(storage);
      storage.faults.enabled = true;
      const answers = new Map<string, TransactResult[]>();
      const client = async (i: number): Promise<void> => {
        const key = `c${i}`;
        for (let attempt = 0; attempt < 50; attempt++) {
          const current = t;
          try {
            const result = await current.transact(order(i), { idempotencyKey: key });
            answers.set(key, [...(answers.get(key) ?? []), result]);
            if (result.duplicate || attempt > 0 || i % 3 !== 0) return;
            // Every third client retries once more after success, as if the answer was lost.
          } catch (error) {
            if (isFactumError(error, 'storage/conflict') && current === t) {
              storage.faults.enabled = false;
              t = await Transactor.open(storage, LOG, noIndexing);
              storage.faults.enabled = true;
            } else if (!isFactumError(error, 'storage/unavailable') && !isFactumError(error, 'storage/conflict')) throw error;
          }
        }
        throw new Error(`${key} was never answered`);
      };
      await Promise.all(Array.from({ length: 24 }, (_, i) => client(i)));
      storage.faults.enabled = false;
      const log = await logged(inner);
      for (let i = 0; i < 24; i++) {
        const entries = log.filter((x) => x.key === `c${i}`);
        expect(entries.length, `c${i} with seed ${seed}`).toBe(1);
        for (const answer of answers.get(`c${i}`)!) expect(answer.t).toBe(entries[0]!.t);
      }
      expect(orders(await Transactor.open(inner, LOG, noIndexing))).toBe(24);
    }
  });
});
