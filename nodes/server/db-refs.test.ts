import { describe, expect, it } from 'vitest';
import { DbRefs } from './db-refs.ts';
import { Transactor } from '../transactor/transactor.ts';
import { createMemoryStorage } from '../storage/memory/memory-storage.ts';
import { readDb } from '../db/durable-base.ts';
import type { Db } from '../db/db.ts';
import { kw } from '../values/values.ts';

const indexing = { noveltyBytesMax: 1e9, backPressureBytes: 1e10, leafMax: 8, branchMax: 8, tier0Max: 100 };

async function counterOf(db: Db): Promise<unknown[]> {
  return readDb(db.state.base, () => [...db.datoms('aevt', kw('c/n'))].map((d) => d.v));
}

describe('DbRefs', () => {
  it('answers a reference from the exact db value of its basis, rebuilt when not kept, and refuses one older than the index root (bug: old-basis-served-filtered)', async () => {
    const transactor = await Transactor.open(createMemoryStorage(), 'd', { indexing });
    await transactor.transact([{ 'db/ident': kw('c/n'), 'db/valueType': kw('db.type/long'), 'db/cardinality': kw('db.cardinality/one'), 'db/noHistory': true }]);
    const { tempids } = await transactor.transact([{ 'db/id': 'c', 'c/n': 1 }]);
    const basisT = transactor.db().basisT;
    for (let n = 2; n <= 5; n++) await transactor.transact([{ 'db/id': tempids.c, 'c/n': n }]);
    const refs = new DbRefs(); // keeps nothing: every older basis must be rebuilt
    const resolved = await refs.resolve({ database: 'd', basisT }, transactor);
    expect(resolved.basisT).toBe(basisT);
    // A filtered view of the newest db value has lost the noHistory value 1; the db value at t has it.
    expect(await counterOf(transactor.db().asOf(basisT))).toEqual([]);
    expect(await counterOf(resolved)).toEqual([1]);
    expect(await counterOf(await refs.resolve({ database: 'd', basisT, asOf: basisT - 1 }, transactor))).toEqual([]);
    await transactor.indexNow();
    await transactor.transact([{ 'db/id': tempids.c, 'c/n': 6 }]);
    // A basis before the new root that was never rebuilt (one that was stays exact in the transactor's cache).
    await expect(refs.resolve({ database: 'd', basisT: basisT + 1 }, transactor)).rejects.toMatchObject({ code: 'db/basis-not-kept', category: 'not-found' });
    await transactor.close();
  });

  it('refuses a with() token under another database or one made again under its name (bug: with-token-outlives-its-database), and a forged one', async () => {
    const transactor = await Transactor.open(createMemoryStorage(), 'd', { indexing: false });
    await transactor.transact([{ 'db/ident': kw('c/n'), 'db/valueType': kw('db.type/long'), 'db/cardinality': kw('db.cardinality/one') }]);
    const refs = new DbRefs();
    const base = transactor.db();
    const report = base.with([{ 'c/n': 7 }]);
    const token = refs.sealWith(transactor, undefined, base, report.dbAfter, report.txData);
    const speculative = await refs.resolve({ database: 'd', basisT: report.dbAfter.basisT, with: token }, transactor);
    expect(await counterOf(speculative)).toEqual([7]);
    // Another database, or the same name deleted and made again: another log (db-<new id>), refused.
    const other = await Transactor.open(createMemoryStorage(), 'd-made-again', { indexing: false });
    await other.transact([{ 'db/ident': kw('c/n'), 'db/valueType': kw('db.type/long'), 'db/cardinality': kw('db.cardinality/one') }]);
    await expect(refs.resolve({ database: 'd', basisT: base.basisT, with: token }, other)).rejects.toMatchObject({ code: 'db/invalid-reference' });
    await other.close();
    const [payload, mac] = token.split('.');
    const forged = `${payload!.slice(0, -2)}AA.${mac}`;
    await expect(refs.resolve({ database: 'd', basisT: base.basisT, with: forged }, transactor)).rejects.toMatchObject({ code: 'db/invalid-reference' });
    await transactor.close();
  });

  it('verifies a with() token on another node of the system (the same shared secret), not on another system', async () => {
    const transactor = await Transactor.open(createMemoryStorage(), 'd', { indexing: false });
    await transactor.transact([{ 'db/ident': kw('c/n'), 'db/valueType': kw('db.type/long'), 'db/cardinality': kw('db.cardinality/one') }]);
    const secret = new Uint8Array(32).fill(7);
    const base = transactor.db();
    const report = base.with([{ 'c/n': 8 }]);
    const token = new DbRefs(secret).sealWith(transactor, undefined, base, report.dbAfter, report.txData);
    const elsewhere = await new DbRefs(secret).resolve({ database: 'd', basisT: report.dbAfter.basisT, with: token }, transactor);
    expect(await counterOf(elsewhere)).toEqual([8]);
    await expect(new DbRefs(new Uint8Array(32).fill(8)).resolve({ database: 'd', basisT: report.dbAfter.basisT, with: token }, transactor)).rejects.toMatchObject({ code: 'db/invalid-reference' });
    await transactor.close();
  });
});
