// The index root's fences in a group of nodes: a transactor that takes over fences the root
// record (Indexer.fence), so an index run or gc of the one before it cannot move the root or
// delete segments after that; and a leader's write guard (its lease) is asked before its root
// moves and before gc deletes.
import { describe, expect, it } from 'vitest';
import { createMemoryStorage } from '../storage/memory/memory-storage.ts';
import { FactumError } from '../util/errors.ts';
import { kw } from '../values/values.ts';
import { Transactor } from '../transactor/transactor.ts';
import { rootKey } from './root.ts';

const indexing = { noveltyBytesMax: 1e9, backPressureBytes: 1e10, leafMax: 8, branchMax: 8, tier0Max: 16 };
const schema = [{ 'db/ident': kw('item/n'), 'db/valueType': kw('db.type/long'), 'db/cardinality': kw('db.cardinality/one') }];
const items = (from: number) => Array.from({ length: 20 }, (_, i) => ({ 'item/n': from + i }));

describe('fencing the index root', () => {
  it('a transactor that fences the root makes the index run of the one before it fail, and the root stays the new one', async () => {
    const storage = createMemoryStorage();
    const before = await Transactor.open(storage, 'db-f', { indexing });
    await before.transact(schema);
    await before.transact(items(0));
    await before.indexNow();
    // The one before wrote a transaction it has not indexed yet (its run is about to start)...
    await before.transact(items(100));
    const taking = await Transactor.open(storage, 'db-f', { indexing });
    expect(await taking.indexing!.indexer.fence()).toBe(true);
    const fencedVersion = (await storage.getRecord(rootKey('db-f')))!.version;
    // ...and still believes it leads (a paused process): its run cannot land.
    await before.indexNow().catch(() => undefined); // fails or finds the root lost: either way it moves nothing
    expect((await storage.getRecord(rootKey('db-f')))!.version).toBe(fencedVersion);
    // The new transactor indexes on from the fenced record.
    await taking.transact(items(200));
    await taking.indexNow();
    expect((await storage.getRecord(rootKey('db-f')))!.version).toBe(fencedVersion + 1);
    await taking.close();
    await before.close();
  });

  it('fence answers false when the root moved since the indexer read it', async () => {
    const storage = createMemoryStorage();
    const first = await Transactor.open(storage, 'db-g', { indexing });
    await first.transact(schema);
    await first.transact(items(0));
    await first.indexNow();
    const stale = await Transactor.open(storage, 'db-g', { indexing });
    await first.transact(items(100));
    await first.indexNow(); // the root moves after `stale` read it
    expect(await stale.indexing!.indexer.fence()).toBe(false);
    await stale.close();
    await first.close();
  });

  it("asks the leader's write guard before the root moves and before gc deletes, and moves nothing once it refuses", async () => {
    const storage = createMemoryStorage();
    let refusal: FactumError | null = null;
    const leader = await Transactor.open(storage, 'db-h', { indexing, writeGuard: () => refusal });
    await leader.transact(schema);
    await leader.transact(items(0));
    await leader.indexNow();
    await leader.transact(items(100));
    await leader.indexNow(); // a second root: the first one's segments become garbage once retired
    const version = (await storage.getRecord(rootKey('db-h')))!.version;
    const segments = async (): Promise<number> => {
      let n = 0;
      for await (const key of storage.listSegments('')) if (key.includes('db-h')) n++;
      return n;
    };
    const segmentsBefore = await segments();
    await new Promise((resolve) => setTimeout(resolve, 5)); // the first root retired before the cutoff
    refusal = new FactumError('cluster/lease-lost', 'the lease ran out (test)', {});
    await expect(leader.gcStorage(new Date(Date.now() + 60_000))).rejects.toMatchObject({ code: 'cluster/lease-lost' });
    expect(await segments()).toBe(segmentsBefore);
    // A run refused by the guard leaves the root where it was (the log write is refused first).
    await leader.transact(items(200)).catch(() => undefined);
    await leader.indexNow().catch(() => undefined);
    expect((await storage.getRecord(rootKey('db-h')))!.version).toBe(version);
    await leader.close();
  });
});
