// The bank-transfer workload (bank-workload.ts): transfers by a transaction function under
// concurrency, every db value audited (current ones while transfers run, every past t afterwards
// through asOf). Run against an embedded client with the function registered in-process, and
// against a node with the transfer deployed as an ion (ions/examples); and shown to catch books
// that do not balance (a function that debits more than it credits).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { createClient, kw } from '../../client/index.ts';
import { openIonAdmin } from '../../ions/ion-admin.ts';
import { pushRevision } from '../../ions/push.ts';
import type { Db as EngineDb } from '../../nodes/db/db.ts';
import { readNodeSettings, startNode } from '../../nodes/main.ts';
import { registerTxFunction } from '../../nodes/tx/functions.ts';
import { runBank, type BankOptions } from './bank-workload.ts';

/** The transfer as an engine transaction function (embedded clients): the ion's logic, synchronous. */
function balanceOf(db: EngineDb, id: string): { e: number; balance: number } {
  const e = db.entid([kw('account/id'), id]);
  if (e === null) throw new Error(`no account ${id}`);
  const datom = [...db.datoms('eavt', e, kw('account/balance'))][0];
  return { e, balance: datom?.v as number };
}
registerTxFunction('test.bank/transfer', (db: EngineDb, from: string, to: string, amount: number) => {
  const source = balanceOf(db, from);
  const target = balanceOf(db, to);
  if (source.balance < amount) throw new Error(`account ${from} holds ${source.balance}, less than the ${amount} to transfer`);
  return [
    ['db/add', source.e, 'account/balance', source.balance - amount],
    ['db/add', target.e, 'account/balance', target.balance + amount],
  ];
});
// A bank whose books do not balance: it debits one more than it credits.
registerTxFunction('test.bank/leaky-transfer', (db: EngineDb, from: string, to: string, amount: number) => {
  const source = balanceOf(db, from);
  const target = balanceOf(db, to);
  if (source.balance < amount + 1) throw new Error(`account ${from} holds ${source.balance}, less than the ${amount} to transfer`);
  return [
    ['db/add', source.e, 'account/balance', source.balance - amount - 1],
    ['db/add', target.e, 'account/balance', target.balance + amount],
  ];
});

const options = (database: string, transfer: BankOptions['transfer'], seed = 1): BankOptions => ({
  database,
  accounts: 8,
  opening: 1000,
  clients: 6,
  transfersPerClient: 40,
  readers: 2,
  seed,
  transfer,
});

const cleanup: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step();
});

describe('the bank-transfer workload', () => {
  it('keeps the books in every db value with an in-process transaction function (embedded)', async () => {
    const client = createClient({ storage: 'memory' });
    cleanup.push(() => client.close());
    for (const seed of [1, 2, 3]) {
      const result = await runBank(client, options(`bank-${seed}`, (from, to, amount) => `[[:test.bank/transfer "${from}" "${to}" ${amount}]]`, seed));
      expect(result.violations).toEqual([]);
      expect([...result.failed]).toEqual([]);
      expect(result.committed + result.refused).toBe(6 * 40);
      expect(result.refused).toBeGreaterThan(0); // overdrafts were tried, and refused
      expect(result.pastReads).toBeGreaterThan(50);
    }
  });

  it('catches books that do not balance', async () => {
    const client = createClient({ storage: 'memory' });
    cleanup.push(() => client.close());
    const result = await runBank(client, options('leaky', (from, to, amount) => `[[:test.bank/leaky-transfer "${from}" "${to}" ${amount}]]`));
    expect(result.committed).toBeGreaterThan(0);
    expect(result.violations.length).toBeGreaterThan(0);
    expect(result.violations.some((v) => v.startsWith('asOf '))).toBe(true);
    expect(result.violations.at(-1)).toMatch(/^the final db value \(t \d+\): 8 accounts, total \d+ \(expected 8 accounts, total 8000\)/);
  });

  it('keeps the books in every db value with the transfer deployed as an ion on a node', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'factum-bank-'));
    const node = await startNode(readNodeSettings({ FACTUM_STORAGE: 'local', FACTUM_DATA_DIR: dir, FACTUM_PORT: '0', FACTUM_HOST: '127.0.0.1', FACTUM_SYSTEM: 'local', FACTUM_ROLE: 'primary', FACTUM_QUERY_THREADS: '1' }), new PassThrough().resume());
    const client = createClient({ endpoint: node.endpoint, system: 'local', keyFile: node.keyFile! });
    const admin = openIonAdmin({ endpoint: node.endpoint, system: 'local', keyFile: node.keyFile! });
    cleanup.push(async () => {
      admin.close();
      await client.close();
      await node.stop();
      await rm(dir, { recursive: true, force: true });
    });
    const { app, rev } = await pushRevision({ projectDirectory: path.resolve('ions/examples'), uname: 'bank-workload', admin });
    const { deployId } = await admin.deploy({ group: 'primary', app, rev });
    for (let i = 0; i < 200 && (await admin.status('primary')).deployment?.state !== 'deployed'; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await admin.status('primary')).deployment).toMatchObject({ deployId, state: 'deployed' });
    const result = await runBank(client, options('bank', (from, to, amount) => `[[:bank/transfer [:account/id "${from}"] [:account/id "${to}"] ${amount}]]`));
    expect(result.violations).toEqual([]);
    expect([...result.failed]).toEqual([]);
    expect(result.committed + result.refused).toBe(6 * 40);
    expect(result.refused).toBeGreaterThan(0);
  }, 120_000);
});
