// The bank workload against real factum databases: transfers by a transaction function and by
// :db/cas, from concurrent processes, on an embedded memory client and on a solo node in this
// process reached by a remote client; every read and every asOf view of the run must add up.
// A transfer function that credits without debiting shows the checker catches a wrong total.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { openIonAdmin } from '../../ions/ion-admin.ts';
import { pushRevision } from '../../ions/push.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from '../../client/index.ts';
import { readNodeSettings, startNode, type RunningNode } from '../../nodes/main.ts';
import { checkBank, prepareBank, registerBankTransfer, runBankWorkload, type BankRun } from './bank-workload.ts';

const ACCOUNTS = 5;

function expectValid(run: BankRun): void {
  const { anomalies } = checkBank(run, ACCOUNTS);
  expect(anomalies.slice(0, 5).map((a) => a.explanation)).toEqual([]);
  // Money did move, reads were made during the run, and every t of the run was read as of it.
  expect(run.transfers.ok).toBeGreaterThan(20);
  expect(run.reads.filter((r) => !r.asOf).length).toBeGreaterThan(20);
  expect(run.reads.filter((r) => r.asOf).length).toBeGreaterThan(run.transfers.ok);
  expect(new Set(run.reads.map((r) => [...r.balances.values()].join(' '))).size).toBeGreaterThan(10);
}

describe('embedded memory client', () => {
  let client: Client;
  beforeAll(() => {
    registerBankTransfer();
    client = createClient({ storage: 'memory' });
  });
  afterAll(() => client.close());

  it('transfers by a transaction function keep the total in every db value', async () => {
    await prepareBank(client, { database: 'by-function', accounts: ACCOUNTS });
    expectValid(await runBankWorkload([client], { database: 'by-function', accounts: ACCOUNTS, transfer: 'function', operations: 300, seed: 2 }));
  });

  it('transfers by :db/cas keep the total in every db value', async () => {
    await prepareBank(client, { database: 'by-cas', accounts: ACCOUNTS });
    expectValid(await runBankWorkload([client], { database: 'by-cas', accounts: ACCOUNTS, transfer: 'cas', operations: 300, seed: 3 }));
  });

  it('a transfer that forgets to debit is caught', async () => {
    registerBankTransfer({ debit: false });
    try {
      await prepareBank(client, { database: 'broken', accounts: ACCOUNTS });
      const run = await runBankWorkload([client], { database: 'broken', accounts: ACCOUNTS, transfer: 'function', operations: 100, seed: 4 });
      expect(new Set(checkBank(run, ACCOUNTS).anomalies.map((a) => a.kind))).toEqual(new Set(['wrong-total']));
    } finally {
      registerBankTransfer();
    }
  });
});

describe('a remote client of a solo node in this process', () => {
  let dir: string;
  let node: RunningNode;
  let client: Client;

  beforeAll(async () => {
    registerBankTransfer();
    dir = await mkdtemp(path.join(os.tmpdir(), 'factum-bank-'));
    node = await startNode(
      readNodeSettings({ FACTUM_STORAGE: 'local', FACTUM_DATA_DIR: dir, FACTUM_PORT: '0', FACTUM_HOST: '127.0.0.1', FACTUM_SYSTEM: 'local', FACTUM_ROLE: 'primary' }),
      new PassThrough().resume(),
    );
    client = createClient({ endpoint: node.endpoint, system: 'local', keyFile: node.keyFile! });
  });

  afterAll(async () => {
    await client?.close();
    await node?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('transfers by the transaction function and by :db/cas keep the total', async () => {
    await prepareBank(client, { database: 'bank', accounts: ACCOUNTS });
    expectValid(await runBankWorkload([client], { database: 'bank', accounts: ACCOUNTS, transfer: 'function', operations: 200, seed: 5 }));
    expectValid(await runBankWorkload([client], { database: 'bank', accounts: ACCOUNTS, transfer: 'cas', operations: 200, seed: 6 }));
  });

  it('transfers by the example ion application, pushed and deployed onto the node, keep the total', async () => {
    const admin = openIonAdmin({ endpoint: node.endpoint, system: 'local', keyFile: node.keyFile! });
    try {
      const { app, rev } = await pushRevision({ projectDirectory: path.resolve('ions/examples'), uname: 'bank-workload', admin });
      const { deployId } = await admin.deploy({ group: 'primary', app, rev });
      for (let i = 0; i < 200 && (await admin.status('primary')).deployment?.state !== 'deployed'; i++) await new Promise((resolve) => setTimeout(resolve, 100));
      expect((await admin.status('primary')).deployment).toMatchObject({ deployId, state: 'deployed' });
    } finally {
      admin.close();
    }
    await prepareBank(client, { database: 'bank-ion', accounts: ACCOUNTS });
    const run = await runBankWorkload([client], { database: 'bank-ion', accounts: ACCOUNTS, transfer: 'ion', operations: 200, seed: 7 });
    expectValid(run);
    expect(run.transfers.ok).toBeGreaterThan(0);
  }, 120_000);
});
