// The indexer against the memory engine as reference model: after each indexing run at a random
// point of a seeded workload, every durable current tree holds exactly the db's current datoms,
// and current + history trees exactly its history view, in index order. Older roots stay
// readable (db values never change), and reopening from the root gives the same trees.
import { describe, expect, it } from 'vitest';
import { Indexer } from '../../nodes/indexer/indexer.ts';
import { bootstrapTransaction, indexInputOf } from '../../nodes/indexer/db-input.ts';
import { compactionGroup, FANOUT, levelSize, sizeClass, type Levels } from '../../nodes/indexer/levels.ts';
import type { Db } from '../../nodes/db/index.ts';
import { createMemoryStorage } from '../../nodes/storage/memory/memory-storage.ts';
import { seededRandom } from '../../nodes/storage/fault.ts';
import { novelty, project, runWorkload } from './workload.ts';
import { collect, expectMatches } from './expect-matches.ts';
import { kw } from '../../nodes/values/values.ts';
import { readDb } from '../../nodes/db/durable-base.ts';

describe('indexer', () => {
  it('durable trees equal the memory index after every run, for seeded workloads', async () => {
    let tiersMax = 0;
    let mainRewrites = 0;
    for (const seed of [11, 12, 13]) {
      const random = seededRandom(seed);
      const workload = runWorkload(seed, 150);
      const storage = createMemoryStorage();
      const tier0Max = 8 + Math.floor(random() * 200);
      const indexer = await Indexer.open(storage, 'db-' + seed, { leafMax: 4 + Math.floor(random() * 8), branchMax: 3 + Math.floor(random() * 4), tier0Max });
      const roots: Array<{ trees: Levels; db: Db }> = [];
      let indexedT = -1;
      while (indexedT < workload.transactions.length) {
        const t = Math.min(workload.transactions.length, indexedT + 1 + Math.floor(random() * 40));
        const db = workload.dbs[t]!;
        const outcome = await indexer.index(indexInputOf(db, novelty(workload, indexedT, t), t));
        expect(outcome.kind).toBe('indexed');
        await expectMatches(indexer, db);
        const tiers = indexer.root!.tiers.length;
        tiersMax = Math.max(tiersMax, tiers);
        const main = roots[roots.length - 1]?.trees[0]!.eavt.current.address;
        if (main !== undefined && main !== indexer.root!.trees.eavt.current.address) mainRewrites++;
        // Compaction left no size class with FANOUT runs.
        expect(compactionGroup(indexer.levels.map(levelSize), tier0Max)).toEqual([]);
        roots.push({ trees: indexer.levels, db });
        indexedT = t;
      }
      for (const { trees, db } of roots) await expectMatches(indexer, db, trees);
      const reopened = await Indexer.open(storage, 'db-' + seed, { leafMax: 64 });
      expect(reopened.root).toEqual(indexer.root);
      await expectMatches(reopened, workload.dbs[workload.dbs.length - 1]!);
    }
    // The small tier capacities made tiers pile up and merge, into each other and into main.
    expect(tiersMax).toBeGreaterThanOrEqual(3);
    expect(mainRewrites).toBeGreaterThanOrEqual(2);
  });

  it('size classes and compaction groups', () => {
    const F = FANOUT;
    expect([0, 1, 100, 101, 100 * F, 100 * F + 1, 100 * F * F, 100 * F * F + 1].map((size) => sizeClass(size, 100))).toEqual([0, 0, 0, 1, 1, 2, 2, 3]);
    const small = (n: number): number[] => Array.from({ length: n }, (_, i) => 10 * (i + 1));
    expect(compactionGroup([5000, ...small(F - 1)], 100)).toEqual([]);
    expect(compactionGroup([5000, ...small(F)], 100)).toEqual(Array.from({ length: F }, (_, i) => i + 1));
    // The smallest full class first; main (index 0) takes part when it is in that class.
    const classOne = Array.from({ length: F - 1 }, (_, i) => 200 + i);
    expect(compactionGroup([300, ...classOne, ...small(F)], 100)).toEqual(Array.from({ length: F }, (_, i) => F + i));
    expect(compactionGroup([300, ...classOne], 100)).toEqual(Array.from({ length: F }, (_, i) => i));
  });

  it('looks up by leading components, lazily', async () => {
    const workload = runWorkload(5, 60);
    const db = workload.dbs[workload.dbs.length - 1]!;
    const indexer = await Indexer.open(createMemoryStorage(), 'db', { leafMax: 4, branchMax: 4 });
    await indexer.index(indexInputOf(db, [bootstrapTransaction(), ...workload.transactions], 60));
    const name = db.attribute(kw('person/name'))!.id;
    const someone = [...db.datoms('aevt', name)][3]!;
    const cases: Array<['eavt' | 'avet' | 'aevt', unknown[]]> = [
      ['eavt', [someone.e]],
      ['eavt', [someone.e, name]],
      ['aevt', [name]],
      ['avet', [name, someone.v]],
      ['eavt', [someone.e, name, someone.v, 10_000]],
    ];
    for (const [index, components] of cases) {
      expect(await collect(indexer.datoms(index, 'current', components))).toEqual([...db.datoms(index, ...components)].map(project));
    }
  });
});

describe('synchronous reads', () => {
  it('readDb answers a synchronous reader of durable trees exactly, loading segments between reruns', async () => {
    const workload = runWorkload(7, 80);
    const db = workload.dbs[workload.dbs.length - 1]!;
    const storage = createMemoryStorage();
    const writer = await Indexer.open(storage, 'db', { leafMax: 4, branchMax: 4 });
    await writer.index(indexInputOf(db, [bootstrapTransaction(), ...workload.transactions], 80));
    const reader = await Indexer.open(storage, 'db', { leafMax: 4, branchMax: 4 });
    reader.nodes.clear();
    const name = db.attribute(kw('person/name'))!.id;
    let runs = 0;
    const answer = await readDb(reader.nodes, () => {
      runs++;
      return [...reader.datomsSync('aevt', 'current', [name])].map(project);
    });
    expect(answer).toEqual([...db.datoms('aevt', name)].map(project));
    expect(runs).toBeGreaterThan(2);
    let again = 0;
    await readDb(reader.nodes, () => again++);
    expect(again).toBe(1);
    await expect(readDb(reader.nodes, () => { throw new Error('reader bug'); })).rejects.toThrow('reader bug');
    reader.nodes.clear();
    await expect(readDb(reader.nodes, () => [...reader.datomsSync('eavt', 'current', [])], undefined, 1)).rejects.toMatchObject({ code: 'storage/busy' });
  });
});
