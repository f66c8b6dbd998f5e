// The background indexer: runs start when novelty passes the threshold, cover what they
// snapshot while transactions keep arriving, drop it when they end, survive failed runs, and
// signal back-pressure.
import { describe, expect, it } from 'vitest';
import { BackgroundIndexer } from '../../nodes/indexer/background-indexer.ts';
import { Indexer } from '../../nodes/indexer/indexer.ts';
import { bootstrapTransaction } from '../../nodes/indexer/db-input.ts';
import type { IndexRoot } from '../../nodes/indexer/root.ts';
import { createMemoryStorage } from '../../nodes/storage/memory/memory-storage.ts';
import { withFaults } from '../../nodes/storage/fault.ts';
import { isFactumError } from '../../nodes/util/errors.ts';
import { runWorkload } from './workload.ts';
import { expectMatches } from './expect-matches.ts';

const options = { leafMax: 16, branchMax: 8 };

describe('background indexer', () => {
  it('indexes whenever novelty passes the threshold while transactions keep arriving', async () => {
    const workload = runWorkload(31, 200);
    const storage = withFaults(createMemoryStorage(), { seed: 4, delayMs: 2 });
    const indexer = await Indexer.open(storage, 'db', options);
    const background = new BackgroundIndexer(indexer, { noveltyBytesMax: 4_000 });
    const roots: IndexRoot[] = [];
    background.onIndexed((root) => roots.push(root));
    background.added(workload.dbs[0]!, bootstrapTransaction(), 0);
    for (const transaction of workload.transactions) background.added(workload.dbs[transaction.t]!, transaction, transaction.t);
    await background.flush();
    expect(roots.length).toBeGreaterThan(1);
    expect(roots.map((root) => root.t)).toEqual([...roots.map((root) => root.t)].sort((a, b) => a - b));
    expect(indexer.root!.t).toBe(201);
    expect(background.noveltyBytes).toBe(0);
    await expectMatches(indexer, workload.dbs[201]!);
  });

  it('keeps the novelty of a failed run, reports the error, and covers it in the next run', async () => {
    const workload = runWorkload(32, 30);
    const storage = withFaults(createMemoryStorage(), { seed: 1, failRate: 1, operations: ['putSegment'] });
    const indexer = await Indexer.open(storage, 'db', options);
    const background = new BackgroundIndexer(indexer, { noveltyBytesMax: 1_000_000_000 });
    background.added(workload.dbs[0]!, bootstrapTransaction(), 0);
    for (const transaction of workload.transactions) background.added(workload.dbs[transaction.t]!, transaction, transaction.t);
    const bytes = background.noveltyBytes;
    await background.flush();
    expect(isFactumError(background.lastError, 'storage/unavailable')).toBe(true);
    expect(background.noveltyBytes).toBe(bytes);
    expect(indexer.root).toBeNull();
    storage.faults.enabled = false;
    await background.flush();
    expect(background.lastError).toBeNull();
    expect(background.noveltyBytes).toBe(0);
    await expectMatches(indexer, workload.dbs[31]!);
  });

  it('signals back-pressure when novelty reaches its bound, and stops after losing the root', async () => {
    const workload = runWorkload(33, 30);
    const storage = createMemoryStorage();
    const indexer = await Indexer.open(storage, 'db', options);
    const background = new BackgroundIndexer(indexer, { noveltyBytesMax: 1_000_000, backPressureBytes: 2_000 });
    background.added(workload.dbs[0]!, bootstrapTransaction(), 0);
    expect(background.isOverloaded).toBe(true);
    const rival = await Indexer.open(storage, 'db', options);
    await rival.index({ t: 0, logPosition: 0, nextUserN: 0, nextDbN: 0, lastTxInstantMs: 0, transactions: [bootstrapTransaction()], schema: { isRef: () => false, keepsHistory: () => true } });
    await background.flush();
    expect(background.lostRoot).toBe(true);
    expect(() => new BackgroundIndexer(indexer, { noveltyBytesMax: 0 })).toThrow(expect.objectContaining({ code: 'index/invalid-option' }));
  });
});
