// The index worker (nodes/indexer/worker-builder.ts) on its own: it builds the same root as a run
// in this thread; a worker that dies mid-run fails that run with index/worker-failed and the next
// run starts a new worker; a storage error inside the worker comes back with its code.
import { describe, expect, it } from 'vitest';
import { WorkerBuilder } from '../../nodes/indexer/worker-builder.ts';
import { RootBuilder } from '../../nodes/indexer/build.ts';
import { bootstrapTransaction, indexInputOf } from '../../nodes/indexer/db-input.ts';
import { StorageSegments, type SegmentStore } from '../../nodes/cache/segment-store.ts';
import { NodeCache } from '../../nodes/cache/node-cache.ts';
import { datomNodeCodec } from '../../nodes/segment/datom-codec.ts';
import { createMemoryStorage } from '../../nodes/storage/memory/memory-storage.ts';
import { FactumError, isFactumError } from '../../nodes/util/errors.ts';
import { runWorkload } from './workload.ts';

const settings = { leafMax: 8, branchMax: 4, tier0Max: 50 };

function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => new Error('expected a failure'),
    (error: unknown) => error,
  );
}

describe('the index worker', () => {
  it('builds the root a run in this thread builds; survives its worker dying; reports storage errors with their code', async () => {
    const workload = runWorkload(31, 80);
    const db = workload.dbs[80]!;
    const upTo = (transactions: typeof workload.transactions, from: number, to: number) => transactions.filter((tx) => tx.t > from && tx.t <= to);
    const input = indexInputOf(db, [bootstrapTransaction(), ...upTo(workload.transactions, 0, 80)], 80);
    const local = new RootBuilder(new NodeCache(datomNodeCodec(), new StorageSegments(createMemoryStorage(), 'segments/db/'), {}), settings);
    const expected = await local.build(null, input, 1_000);

    const storage = createMemoryStorage();
    let failReads = false;
    const segments = new StorageSegments(storage, 'segments/db/');
    const below: SegmentStore = {
      level: 'storage',
      get: (address) => (failReads ? Promise.reject(new FactumError('storage/unavailable', 'injected: storage is down', { address })) : segments.get(address)),
      put: (address, bytes) => segments.put(address, bytes),
    };
    const worker = new WorkerBuilder(below, { ...settings, cacheBytesMax: 1024 * 1024 });
    try {
      const built = await worker.build(null, input, 1_000);
      // Content-addressed segments: the same trees, to the address.
      expect(built.root).toEqual(expected.root);
      expect(built.datoms).toBe(expected.datoms);
      // Its segments went through the main thread into storage.
      let stored = 0;
      for await (const _ of storage.listSegments('segments/db/')) stored++;
      expect(stored).toBeGreaterThan(0);

      // The worker dies in the middle of a run: that run fails, the next one starts a new worker.
      const more = runWorkload(32, 30, workload);
      const next = indexInputOf(more.dbs[110]!, upTo(more.transactions, 80, 110), 110);
      const dying = worker.build(built.root, next, 2_000);
      await worker.close();
      const died = await failure(dying);
      expect(isFactumError(died, 'index/worker-failed')).toBe(true);
      const rebuilt = await worker.build(built.root, next, 2_000);
      expect(rebuilt.root.t).toBe(110);

      // A storage error in a read the worker asks for comes back as that error. A fresh worker
      // (empty memory cache) must read the previous root's segments to merge or look up.
      await worker.close();
      failReads = true;
      const last = runWorkload(33, 40, more);
      const failed = await failure(worker.build(rebuilt.root, indexInputOf(last.dbs[150]!, upTo(last.transactions, 110, 150), 150), 3_000));
      expect(isFactumError(failed, 'storage/unavailable')).toBe(true);
      expect((failed as Error).message).toContain('injected');
    } finally {
      await worker.close();
    }
  });
});
