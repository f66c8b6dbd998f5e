// The index worker (nodes/indexer/worker-builder.ts) on its own: it builds the same root as a run
// in this thread; a worker that dies mid-run fails that run with index/worker-failed and the next
// run starts a new worker; a storage error inside the worker comes back with its code.
import { describe, expect, it } from 'vitest';
import { WorkerBuilder } from '../../nodes/indexer/worker-builder.ts';
import { RootBuilder } from '../../nodes/indexer/build.ts';
import { decodeRoot, encodeRoot } from '../../nodes/indexer/root.ts';
import { indexInputOf } from '../../nodes/indexer/db-input.ts';
import { StorageSegments, type SegmentStore } from '../../nodes/cache/segment-store.ts';
import { NodeCache } from '../../nodes/cache/node-cache.ts';
import { datomNodeCodec } from '../../nodes/segment/datom-codec.ts';
import { createMemoryStorage } from '../../nodes/storage/memory/memory-storage.ts';
import { FactumError, isFactumError } from '../../nodes/util/errors.ts';
import { failure, novelty, runWorkload } from './workload.ts';

const settings = { leafMax: 8, branchMax: 4, tier0Max: 50 };

describe('the index worker', () => {
  it('builds the root a run in this thread builds; survives its worker dying; reports storage errors with their code', async () => {
    const workload = runWorkload(31, 80);
    const db = workload.dbs[80]!;
    const input = indexInputOf(db, novelty(workload, -1, 80), 80);
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
      const next = indexInputOf(more.dbs[110]!, novelty(more, 80, 110), 110);
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
      const failed = await failure(worker.build(rebuilt.root, indexInputOf(last.dbs[150]!, novelty(last, 110, 150), 150), 3_000));
      expect(isFactumError(failed, 'storage/unavailable')).toBe(true);
      expect((failed as Error).message).toContain('injected');
    } finally {
      await worker.close();
    }
  });

  it('reads local segment files itself, asking the main thread only for writes and for segments it does not find', async () => {
    const { mkdtemp, readdir, writeFile, readFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { openLocalStorage } = await import('../../nodes/storage/local/local-storage.ts');
    const { removeDirectory } = await import('../../nodes/storage/local/local-test-support.ts');
    const directory = await mkdtemp(join(tmpdir(), 'factum-worker-'));
    const storage = await openLocalStorage(directory);
    const workload = runWorkload(41, 120);
    const segments = new StorageSegments(storage, 'segments/db/');
    let mainThreadReads = 0;
    const below: SegmentStore = { level: 'storage', get: (address) => (mainThreadReads++, segments.get(address)), put: (address, bytes) => segments.put(address, bytes) };
    const reads = storage.directSegmentReads!()!;
    expect(reads.kind).toBe('local-directory');
    const worker = new WorkerBuilder(below, { ...settings, cacheBytesMax: 1024 * 1024, directReads: { reads, prefix: 'segments/db/' } });
    const local = new RootBuilder(new NodeCache(datomNodeCodec(), new StorageSegments(createMemoryStorage(), 'segments/db/'), {}), settings);
    try {
      const first = await worker.build(null, indexInputOf(workload.dbs[60]!, novelty(workload, -1, 60), 60), 1_000);
      await worker.close(); // a fresh worker has nothing in memory: the next run reads the first run's segments
      const input = indexInputOf(workload.dbs[120]!, novelty(workload, 60, 120), 120);
      const second = await worker.build(first.root, input, 2_000);
      const expectedFirst = await local.build(null, indexInputOf(workload.dbs[60]!, novelty(workload, -1, 60), 60), 1_000);
      const expected = await local.build(expectedFirst.root, input, 2_000);
      expect(encodeRoot(second.root)).toEqual(encodeRoot(decodeRoot('expected', encodeRoot(expected.root))));
      expect(mainThreadReads).toBe(0);

      // A damaged file the worker reads is storage/corrupt from the worker, naming the file.
      await worker.close();
      const folder = join(directory, 'segments', 'segments', 'db');
      for (const name of await readdir(folder)) {
        const file = join(folder, name);
        const bytes = await readFile(file);
        bytes[bytes.length - 1]! ^= 0xff;
        await writeFile(file, bytes);
      }
      const more = runWorkload(42, 60, workload); // retractions of indexed facts: lookups read segments
      const failed = await failure(worker.build(second.root, indexInputOf(more.dbs[180]!, novelty(more, 120, 180), 180), 3_000));
      expect(isFactumError(failed, 'storage/corrupt')).toBe(true);
      expect((failed as Error).message).toContain(folder);
    } finally {
      await worker.close();
      await storage.close();
      await removeDirectory(directory);
    }
  });
});
