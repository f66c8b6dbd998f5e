// Chaos on real processes (issue 19): the production system in miniature (two primary nodes and
// a query-group node, separate processes on the AWS emulator's storage) behind a round-robin load
// balancer, five clients running the list-append workload, while the nemesis kills (kill -9) or
// pauses (SIGSTOP, for up to three leases) a node every few seconds: the transactor of the
// workload's database half the time, any node otherwise. On the emulator, the nodes reach
// DynamoDB and S3 through proxies, and some faults make one of them slow or failing for a while
// instead. Alongside, two clients run the bank workload (:db/cas transfers) on a second database.
// Every call a fault leaves without an answer is recorded as info. After the run, a final read of
// every key; the list-append history must check strict serializable (reads at each transaction's
// db-before) with every acknowledged append in place, and every bank read, and the bank database
// as of every t of the run, must add up to the opening total.
//
// Short by default (the integration suite); CHAOS_MS=600000 runs ten minutes, CHAOS_SEED picks
// the faults and the workload.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Client } from '../../client/index.ts';
import { formatHistory } from '../checker/history.ts';
import { checkBank, prepareBank, runBankWorkload } from '../checker/bank-workload.ts';
import { checkListAppend } from '../checker/list-append.ts';
import { prepareListAppend, runListAppendWorkload } from '../checker/list-append-workload.ts';
import { integrationConfig, isEmulator, removePrefix } from '../integration/aws-environment.ts';
import { seededRandom } from '../../nodes/util/random.ts';
import { startLoadBalancer, type LoadBalancer } from '../miniature/load-balancer.ts';
import { startMiniature, type Miniature } from '../miniature/miniature.ts';
import { startNemesis } from './nemesis.ts';
import { startStorageProxy, type StorageProxy } from './storage-proxy.ts';

const CHAOS_MS = Number(process.env.CHAOS_MS ?? 25_000);
const SEED = Number(process.env.CHAOS_SEED ?? 1);
const LEASE_MS = 1500;
const DATABASE = 'chaos';
const BANK = 'bank';
const ACCOUNTS = 5;

describe('chaos: list-append and bank on the miniature under kill -9, SIGSTOP and storage faults', () => {
  let mini: Miniature;
  let balancer: LoadBalancer;
  const proxies: StorageProxy[] = [];

  beforeAll(async () => {
    const environment = { ...inject('awsEnvironment') };
    if (isEmulator()) {
      const random = seededRandom(SEED + 1);
      const dynamodb = await startStorageProxy(environment.FACTUM_DYNAMODB_ENDPOINT!, 'dynamodb', random);
      const s3 = await startStorageProxy(environment.FACTUM_S3_ENDPOINT!, 's3', random);
      proxies.push(dynamodb, s3);
      Object.assign(environment, { FACTUM_DYNAMODB_ENDPOINT: dynamodb.endpoint, FACTUM_S3_ENDPOINT: s3.endpoint });
    }
    mini = await startMiniature({ environment, config: integrationConfig(), removePrefix, primaries: 2, queryGroupNodes: 1, leaseMs: LEASE_MS, noveltyBytesMax: 64 * 1024 });
    balancer = await startLoadBalancer(() => mini.nodes.flatMap((node) => (node.child === null ? [] : [node.endpoint()])));
    const admin = mini.client(balancer.endpoint, 'admin');
    await prepareListAppend(admin, DATABASE);
    await prepareBank(admin, { database: BANK, accounts: ACCOUNTS });
  }, 120_000);

  afterAll(async () => {
    await balancer?.close();
    await mini?.stop();
    for (const proxy of proxies) await proxy.close();
  }, 60_000);

  it(`is strict serializable after ${CHAOS_MS} ms of faults (seed ${SEED})`, async () => {
    const clients: Client[] = Array.from({ length: 5 }, () => mini.client(balancer.endpoint, 'read-write', DATABASE));
    const started = Date.now();
    const nemesis = startNemesis(mini, { seed: SEED, durationMs: CHAOS_MS, leaseMs: LEASE_MS, database: DATABASE, storage: proxies });
    const bankClients: Client[] = Array.from({ length: 2 }, () => mini.client(balancer.endpoint, 'read-write', BANK));
    const bankRun = runBankWorkload(bankClients, { database: BANK, accounts: ACCOUNTS, transfer: 'cas', processes: 2, operations: Infinity, durationMs: CHAOS_MS, seed: SEED });
    const run = await runListAppendWorkload(clients, { database: DATABASE, processes: 5, transactions: Infinity, durationMs: CHAOS_MS, keys: 4, seed: SEED, finalRead: true, finalReadMs: 120_000 });
    const faults = await nemesis.stopped();
    const bank = await bankRun;
    const bankResult = checkBank(bank, ACCOUNTS);
    const checking = Date.now();
    const result = checkListAppend(run.history.ops, { consistency: 'strict-serializable', reads: 'db-before', checkT: true });
    const checkMs = Date.now() - checking;

    const { ok, fail, info } = result.stats;
    const byKind = (kind: string) => `${faults.filter((f) => f.kind === kind).length} (${faults.filter((f) => f.kind === kind && f.leader).length} of the leader)`;
    console.log(
      `chaos seed ${SEED}: ${((Date.now() - started) / 1000).toFixed(1)} s, ${ok} ok / ${fail} fail / ${info} info transactions ` +
        `(${(ok / (CHAOS_MS / 1000)).toFixed(1)} ok/s), ${run.casRetries} cas retries, faults: ${byKind('kill')} kill -9, ${byKind('pause')} SIGSTOP, ` +
        `${faults.filter((f) => f.kind === 'slow-storage').length} slow and ${faults.filter((f) => f.kind === 'failing-storage').length} failing storage ` +
        `(${proxies.map((p) => `${p.protocol}: ${p.counts.held} held, ${p.counts.refused} refused, ${p.counts.cut} answers cut`).join('; ')}); ` +
        `checked ${run.history.ops.length} ops over ${result.stats.keys} keys in ${checkMs} ms: ${result.anomalies.length} anomalies; ` +
        `bank: ${bank.transfers.ok} ok / ${bank.transfers.fail} fail / ${bank.transfers.info} info transfers, ${bank.reads.filter((r) => !r.asOf).length} reads and ${bank.reads.filter((r) => r.asOf).length} asOf views: ${bankResult.anomalies.length} anomalies`,
    );
    expect(bankResult.anomalies.slice(0, 3).map((a) => a.explanation)).toEqual([]);
    expect(bank.transfers.ok).toBeGreaterThan(10);
    const shown = result.anomalies.slice(0, 3).map((a) => a.explanation);
    expect(shown, shown.length === 0 ? '' : formatHistory(run.history.ops, { around: result.anomalies[0]!.ops.map((op) => op.index) })).toEqual([]);
    // The run did what it says: faults happened, transactions committed, and the final read did.
    expect(faults.length).toBeGreaterThan(0);
    expect(ok).toBeGreaterThan(50);
    expect(run.history.ops[run.history.ops.length - 1]!.type).toBe('ok');
  }, CHAOS_MS + 300_000);
});
