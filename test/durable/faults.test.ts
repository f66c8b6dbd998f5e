// Faults during indexing and reading: a crash (a failed write) at any point leaves the previous
// root valid and readable; ambiguous root writes are resolved; corrupt and missing segments and
// roots are reported with their codes; garbage collection keeps what roots in the window reach.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Indexer } from '../../nodes/indexer/indexer.ts';
import { indexInputOf } from '../../nodes/indexer/db-input.ts';
import { rootKey, segmentPrefix } from '../../nodes/indexer/root.ts';
import { createMemoryStorage } from '../../nodes/storage/memory/memory-storage.ts';
import { openLocalStorage } from '../../nodes/storage/local/local-storage.ts';
import { withFaults } from '../../nodes/storage/fault.ts';
import type { Storage } from '../../nodes/storage/protocol.ts';
import { isFactumError } from '../../nodes/util/errors.ts';
import { failure, novelty, runWorkload } from './workload.ts';
import { expectMatches } from './expect-matches.ts';
import { Transactor } from '../../nodes/transactor/transactor.ts';
import { readDb } from '../../nodes/db/durable-base.ts';
import { kw } from '../../nodes/values/values.ts';

const options = { leafMax: 6, branchMax: 4 };

async function segmentCount(storage: Storage, databaseId: string): Promise<number> {
  let n = 0;
  for await (const _ of storage.listSegments(segmentPrefix(databaseId))) n++;
  return n;
}

describe('indexing under faults', () => {
  it('a run that fails at any write leaves the previous root valid; a later run succeeds', async () => {
    const workload = runWorkload(21, 120);
    const memory = createMemoryStorage();
    const faulty = withFaults(memory, { seed: 5, failRate: 0.01, failAfterWriteRate: 0.01, operations: ['putSegment', 'casRecord'] });
    const indexer = await Indexer.open(faulty, 'db', { leafMax: 64, branchMax: 8 });
    let indexedT = -1;
    let failures = 0;
    for (const t of [30, 60, 90, 121]) {
      for (;;) {
        const error = await failure(indexer.index(indexInputOf(workload.dbs[t]!, novelty(workload, indexedT, t), t)));
        if (error === null) break;
        expect(isFactumError(error, 'storage/unavailable')).toBe(true);
        failures++;
        // As after a crash: a fresh process opens the previous root and reads it whole, cold.
        const reopened = await Indexer.open(memory, 'db', { leafMax: 64, branchMax: 8 });
        expect(reopened.root?.t ?? -1).toBe(indexedT);
        if (indexedT >= 0) await expectMatches(reopened, workload.dbs[indexedT]!);
      }
      indexedT = t;
      expect(indexer.root!.t).toBe(t);
    }
    expect(failures).toBeGreaterThan(0);
    expect(faulty.faults.events.some((event) => event.fault === 'fail-after-write' && event.operation === 'casRecord') || failures > 0).toBe(true);
    await expectMatches(await Indexer.open(memory, 'db', { leafMax: 64, branchMax: 8 }), workload.dbs[121]!);
  });

  it('a second indexer that lost the compare-and-swap gets a conflict and changes nothing', async () => {
    const workload = runWorkload(22, 40);
    const storage = createMemoryStorage();
    const first = await Indexer.open(storage, 'db', options);
    const second = await Indexer.open(storage, 'db', options);
    expect((await first.index(indexInputOf(workload.dbs[20]!, novelty(workload, -1, 20), 20))).kind).toBe('indexed');
    expect((await second.index(indexInputOf(workload.dbs[41]!, novelty(workload, -1, 41), 41))).kind).toBe('conflict');
    expect((await Indexer.open(storage, 'db', options)).root!.t).toBe(20);
  });

  it('a corrupt or missing segment is reported by its code, never read as data', async () => {
    const workload = runWorkload(23, 60);
    const memory = createMemoryStorage();
    await (await Indexer.open(memory, 'db', options)).index(indexInputOf(workload.dbs[61]!, novelty(workload, -1, 61), 61));
    const corrupting = withFaults(memory, { seed: 2, corruptReadRate: 1, operations: ['getSegment'] });
    corrupting.faults.enabled = false;
    const reader = await Indexer.open(corrupting, 'db', options);
    corrupting.faults.enabled = true;
    const corrupt = await failure((async () => { for await (const _ of reader.datoms('eavt', 'current', [])) void _; })());
    expect(isFactumError(corrupt, 'storage/corrupt')).toBe(true);

    const victim = (await (async () => { for await (const key of memory.listSegments(segmentPrefix('db'))) return key; })())!;
    await memory.deleteSegments([victim]);
    const missing = await failure((async () => {
      const cold = await Indexer.open(memory, 'db', options);
      for (const index of ['eavt', 'aevt', 'avet', 'vaet'] as const) for (const kind of ['current', 'history'] as const) for await (const _ of cold.datoms(index, kind, [])) void _;
    })());
    expect(isFactumError(missing, 'storage/segment-not-found')).toBe(true);
    expect((missing as Error).message).toContain(victim.slice(segmentPrefix('db').length));
  });

  it('a corrupt root record is storage/corrupt on open', async () => {
    const storage = createMemoryStorage();
    for (const bytes of ['not json', '{"format":1}', '{"format":2}', '[]']) {
      await storage.casRecord(rootKey('db-' + bytes.length), null, new TextEncoder().encode(bytes));
      expect(isFactumError(await failure(Indexer.open(storage, 'db-' + bytes.length)), 'storage/corrupt'), bytes).toBe(true);
    }
    // A tree's upper bound that is not one encoded datom.
    const workload = runWorkload(23, 10);
    const indexer = await Indexer.open(storage, 'db', options);
    await indexer.index(indexInputOf(workload.dbs[10]!, novelty(workload, -1, 10), 10));
    const good = (await storage.getRecord(rootKey('db')))!;
    const root = JSON.parse(new TextDecoder().decode(good.bytes)) as { trees: { eavt: { current: { last: string } } } };
    expect(typeof root.trees.eavt.current.last).toBe('string');
    for (const last of ['AAAA', 'not base64!', 42]) {
      (root.trees.eavt.current as { last: unknown }).last = last;
      await storage.casRecord(rootKey('bad-last'), (await storage.getRecord(rootKey('bad-last')))?.version ?? null, new TextEncoder().encode(JSON.stringify(root)));
      const error = await failure(Indexer.open(storage, 'bad-last'));
      expect(isFactumError(error, 'storage/corrupt'), String(last)).toBe(true);
      expect((error as Error).message).toContain('trees.eavt.current.last');
    }
  });

  it('a tree whose last datom holds a large value still gives a root that opens (the bound is left out)', async () => {
    for (const worker of [false, true]) {
      const storage = createMemoryStorage();
      const text = '中'.repeat(4096); // 12 KiB of UTF-8: the largest string a transaction takes
      const tuple = Array.from({ length: 8 }, (_, i) => `${i}`.repeat(4096));
      let transactor = await Transactor.open(storage, 'db', { indexing: { worker } });
      await transactor.transact([
        { 'db/ident': kw('doc/text'), 'db/valueType': kw('db.type/string'), 'db/cardinality': kw('db.cardinality/one') },
        { 'db/ident': kw('doc/parts'), 'db/valueType': kw('db.type/tuple'), 'db/tupleType': kw('db.type/string'), 'db/cardinality': kw('db.cardinality/one') },
      ]);
      const report = await transactor.transact([{ 'db/id': 'd', 'doc/text': text, 'doc/parts': tuple }]);
      await transactor.indexNow();
      const record = (await storage.getRecord(rootKey('db')))!;
      expect(record.bytes.length).toBeLessThan(64 * 1024);
      await transactor.close();
      transactor = await Transactor.open(storage, 'db', { indexing: { worker } });
      const e = report.tempids.d!;
      const db = transactor.db();
      expect(db.state.base).not.toBeNull();
      expect(await readDb(db.state.base, () => [...db.datoms('eavt', e)].map((d) => d.v))).toEqual([text, tuple]);
      await transactor.close();
    }
  });

  it('refuses bad options and novelty out of order', async () => {
    const storage = createMemoryStorage();
    for (const bad of [{ leafMax: 1 }, { branchMax: 0 }, { leafMax: 2.5 }]) {
      expect(isFactumError(await failure(Indexer.open(storage, 'db', bad)), 'index/invalid-option')).toBe(true);
    }
    const workload = runWorkload(24, 10);
    const indexer = await Indexer.open(storage, 'db', options);
    const reversed = novelty(workload, -1, 5).reverse();
    expect(isFactumError(await failure(indexer.index(indexInputOf(workload.dbs[5]!, reversed, 5))), 'index/invalid-option')).toBe(true);
    expect(isFactumError(await failure(indexer.gcStorage(new Date(NaN))), 'index/invalid-option')).toBe(true);
  });
});

describe('gcStorage', () => {
  it('keeps the root record under its bound by dropping the oldest retired roots, and refuses a window reaching back to them', async () => {
    let now = 1_000;
    const workload = runWorkload(26, 120);
    const memory = createMemoryStorage();
    const rootBytesMax = 40_000;
    const indexer = await Indexer.open(memory, 'db', { ...options, tier0Max: 20, rootBytesMax, now: () => now });
    const sizes: number[] = [];
    for (let t = 4; t <= 120; t += 4) {
      now += 1_000;
      await indexer.index(indexInputOf(workload.dbs[t]!, novelty(workload, t === 4 ? -1 : t - 4, t), t));
      sizes.push((await memory.getRecord(rootKey('db')))!.bytes.length);
    }
    expect(Math.max(...sizes)).toBeLessThanOrEqual(rootBytesMax);
    const root = indexer.root!;
    expect(root.retiredDroppedMs).toBeGreaterThan(1_000);
    expect(root.retired.length).toBeGreaterThan(0);
    expect(Math.min(...root.retired.map((r) => r.retiredAtMs))).toBeGreaterThan(root.retiredDroppedMs);
    // A window reaching back before the dropped roots: refused, nothing deleted.
    const before = await segmentCount(memory, 'db');
    const refused = await failure(indexer.gcStorage(new Date(root.retiredDroppedMs)));
    expect(isFactumError(refused, 'index/invalid-option')).toBe(true);
    expect((refused as Error).message).toMatch(/Pass an olderThan after/);
    expect(await segmentCount(memory, 'db')).toBe(before);
    // A window after them: collected, and the database reads as before (reopened too).
    const collected = await indexer.gcStorage(new Date(root.retiredDroppedMs + 1));
    expect(collected.deleted).toBeGreaterThan(0);
    await expectMatches(await Indexer.open(memory, 'db', options), workload.dbs[120]!);
    expect((await Indexer.open(memory, 'db', options)).root!.retiredDroppedMs).toBe(root.retiredDroppedMs);
  });

  it('deletes segments of abandoned runs and of roots retired before the window, keeps the rest readable', async () => {
    let now = 1_000;
    const workload = runWorkload(25, 90);
    const memory = createMemoryStorage();
    const indexer = await Indexer.open(memory, 'db', { ...options, now: () => now });
    await indexer.index(indexInputOf(workload.dbs[30]!, novelty(workload, -1, 30), 30));
    const atThirty = indexer.levels;
    now = 2_000;
    await indexer.index(indexInputOf(workload.dbs[60]!, novelty(workload, 30, 60), 60));
    const atSixty = indexer.levels;
    // An abandoned run (to t 75; content addressing would share its segments with a run to 91):
    // its segments are written, its root never is.
    const crashing = withFaults(memory, { seed: 1, failRate: 1, operations: ['casRecord'] });
    const doomed = await Indexer.open(crashing, 'db', options);
    expect(await failure(doomed.index(indexInputOf(workload.dbs[75]!, novelty(workload, 60, 75), 75)))).not.toBeNull();
    now = 3_000;
    await indexer.index(indexInputOf(workload.dbs[91]!, novelty(workload, 60, 91), 91));
    const before = await segmentCount(memory, 'db');

    // The window starts at 1,500: the root of t 30 (retired at 2,000) and of t 60 (at 3,000) are kept.
    const first = await indexer.gcStorage(new Date(1_500));
    expect(first.deleted).toBeGreaterThan(0); // the abandoned run's segments
    await expectMatches(await Indexer.open(memory, 'db', options), workload.dbs[91]!);
    await expectMatches(indexer, workload.dbs[30]!, atThirty);
    await expectMatches(indexer, workload.dbs[60]!, atSixty);

    // Now the window starts after every retirement: only the current root's segments remain.
    const second = await indexer.gcStorage(new Date(10_000));
    expect(second.deleted).toBeGreaterThan(0);
    expect(indexer.root!.retired).toEqual([]);
    expect(await segmentCount(memory, 'db')).toBe(before - first.deleted - second.deleted);
    await expectMatches(await Indexer.open(memory, 'db', options), workload.dbs[91]!);
    expect((await indexer.gcStorage(new Date(10_000))).deleted).toBe(0);
  });
});

describe('local backend', () => {
  let directory: string;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'factum-durable-'));
  });
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('stores segments and the root in a directory, with a directory cache level, and reopens', async () => {
    const workload = runWorkload(26, 50);
    const storage = await openLocalStorage(join(directory, 'storage'));
    const cacheDirectory = join(directory, 'cache');
    const indexer = await Indexer.open(storage, 'db', { ...options, cacheDirectory });
    await indexer.index(indexInputOf(workload.dbs[25]!, novelty(workload, -1, 25), 25));
    await indexer.index(indexInputOf(workload.dbs[51]!, novelty(workload, 25, 51), 51));
    await storage.close();
    const reopened = await openLocalStorage(join(directory, 'storage'));
    await expectMatches(await Indexer.open(reopened, 'db', { ...options, cacheDirectory }), workload.dbs[51]!);
    expect((await (await Indexer.open(reopened, 'db', options)).gcStorage(new Date(0))).deleted).toBe(0);
    await reopened.close();
  });
});
