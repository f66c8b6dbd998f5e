// The production topology in miniature (test/miniature), on the AWS emulator, every node a real
// process on this machine:
// 1. failover: kill -9 of a database's transactor while a client on the other primary node writes
//    all the time; the time from the kill to the acknowledgement of that client's first write sent
//    after it, over KILLS kills, beside the bound the lease gives (2 × period + 1 s);
// 2. novelty lag at a steady write load: commit on the transactor to applied on each follower
//    (the nodes' `novelty/applied` lines), beside the writers' own transaction round trip;
// 3. reads: requests/s of the query-group node alone vs a solo node (local storage, one process)
//    holding the same data, under the same load generator.
// Run: NODE_OPTIONS=--openssl-legacy-provider npm run bench -- bench/cluster.bench.ts
//      (LEASE_MS=1500 KILLS=10 BENCH_MS=5000 by default)
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createClient, q, type Connection } from '../client/index.ts';
import { emulatorCredentials, startEmulator } from '../localstack/emulator.ts';
import { startChildNode } from '../nodes/cli/child-node.ts';
import { awsStorageConfigFromEnvironment, type AwsStorageConfig } from '../nodes/storage/aws/index.ts';
import { startMiniature, type Miniature } from '../test/miniature/miniature.ts';
import { runLoad } from './load.ts';
import { median } from './timing.ts';

const leaseMs = Number(process.env.LEASE_MS ?? 1500);
const kills = Number(process.env.KILLS ?? 10);
const durationMs = Number(process.env.BENCH_MS ?? 5000);
const schema = '[{:db/ident :item/value :db/valueType :db.type/string :db/cardinality :db.cardinality/one}]';

const emulator = await startEmulator();
const environment: Record<string, string> = { ...emulator.env };
const config = (): AwsStorageConfig => ({ ...awsStorageConfigFromEnvironment(environment), credentials: emulatorCredentials, prefix: `bench-${randomUUID()}/` });
// The emulator's tables are thrown away with it.
const removePrefix = async (): Promise<void> => undefined;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;

async function until<T>(probe: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => null);
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(50);
  }
}

/** Writes one small transaction after another; the time of each acknowledgement, and of its submission. */
function writer(conn: Connection, name: string): { acks: number[]; submitted: number[]; latenciesMs: number[]; stop: () => Promise<void> } {
  const acks: number[] = [];
  const submitted: number[] = [];
  const latenciesMs: number[] = [];
  let running = true;
  const loop = (async () => {
    for (let n = 0; running; n++) {
      const started = performance.now();
      const submittedMs = Date.now();
      try {
        await conn.transact([{ 'item/value': `${name}-${n}` }]);
        latenciesMs.push(performance.now() - started);
        acks.push(Date.now());
        submitted.push(submittedMs);
      } catch {
        await sleep(20);
      }
    }
  })();
  return {
    acks,
    submitted,
    latenciesMs,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

async function failover(): Promise<void> {
  const mini: Miniature = await startMiniature({ environment, config: config(), removePrefix, primaries: 2, queryGroupNodes: 0, leaseMs });
  try {
    const admin = mini.client(mini.nodes[0]!, 'admin');
    await admin.createDatabase('bench');
    await (await admin.connect('bench')).transact(schema);
    const times: number[] = [];
    for (let round = 0; round < kills; round++) {
      const victim = await until(() => mini.leaderOf('bench'));
      const survivor = mini.nodes.find((node) => node !== victim)!;
      const w = writer(await mini.client(survivor, 'read-write', 'bench').connect('bench'), `round-${round}`);
      await until(async () => w.acks.length >= 20);
      const killedAt = Date.now();
      await mini.kill(victim);
      // The first write sent after the kill and acknowledged (one sent before may be answered after it).
      const first = await until(async () => w.acks.find((_, i) => w.submitted[i]! > killedAt));
      times.push(first - killedAt);
      await w.stop();
      await mini.start(victim);
      await sleep(leaseMs);
    }
    const sorted = [...times].sort((a, b) => a - b);
    console.log(`failover, kill -9 to the first acknowledged write on the other primary (${kills} kills, lease ${leaseMs} ms):`);
    console.log(`  min ${sorted[0]} ms  median ${median(sorted).toFixed(0)} ms  max ${sorted[sorted.length - 1]} ms   bound 2 × lease + 1 s = ${2 * leaseMs + 1000} ms   median/bound ${(median(sorted) / (2 * leaseMs + 1000)).toFixed(2)}`);
  } finally {
    await mini.stop();
  }
}

async function lagAndReads(): Promise<void> {
  const mini = await startMiniature({ environment, config: config(), removePrefix, primaries: 2, queryGroupNodes: 1, leaseMs });
  const work = await mkdtemp(path.join(os.tmpdir(), 'factum-cluster-bench-'));
  const solo = await startChildNode(path.join(work, 'solo'), path.join(work, 'solo.log'));
  try {
    const admin = mini.client(mini.nodes[0]!, 'admin');
    await admin.createDatabase('bench');
    await (await admin.connect('bench')).transact(schema);
    const leader = await until(() => mini.leaderOf('bench'));
    // Novelty lag: 4 writers on the transactor's node, for durationMs.
    const writers = await Promise.all([0, 1, 2, 3].map(async (i) => writer(await mini.client(leader, 'read-write', 'bench').connect('bench'), `w${i}`)));
    const startedMs = Date.now();
    await sleep(durationMs);
    for (const w of writers) await w.stop();
    await sleep(500);
    const lags: number[] = [];
    for (const node of mini.nodes) {
      if (node === leader) continue;
      for (const event of await node.events()) {
        if (event.event === 'novelty/applied' && event.database === 'bench' && Date.parse(String(event.time)) >= startedMs) lags.push(Number(event.lagMs));
      }
    }
    lags.sort((a, b) => a - b);
    const round = writers.flatMap((w) => w.latenciesMs).sort((a, b) => a - b);
    const transactions = writers.reduce((n, w) => n + w.acks.length, 0);
    console.log(`novelty lag at ${(transactions / (durationMs / 1000)).toFixed(0)} tx/s (4 writers on the transactor's node), commit on the transactor to applied on a follower, ${lags.length} entries on 2 followers:`);
    console.log(`  lag p50 ${percentile(lags, 0.5).toFixed(1)} ms  p99 ${percentile(lags, 0.99).toFixed(1)} ms   the writers' own round trip p50 ${percentile(round, 0.5).toFixed(1)} ms  p99 ${percentile(round, 0.99).toFixed(1)} ms   lag p50 / round trip p50 ${(percentile(lags, 0.5) / percentile(round, 0.5)).toFixed(2)}`);

    // Reads: the same 2,000 entities on the cluster and on a solo node.
    const soloClient = createClient({ endpoint: solo.announcement.endpoint, system: solo.announcement.system, keyFile: solo.announcement.keyFile! });
    await soloClient.createDatabase('bench');
    const soloConn = await soloClient.connect('bench');
    await soloConn.transact(schema);
    const clusterConn = await mini.client(leader, 'read-write', 'bench').connect('bench');
    for (let i = 0; i < 20; i++) {
      const tx = Array.from({ length: 100 }, (_, j) => ({ 'item/value': `read-${i}-${j}` }));
      await clusterConn.transact(tx);
      await soloConn.transact(tx);
    }
    const analytics = mini.nodes.find((node) => node.role === 'query-group')!;
    const groupConn = await mini.client(analytics, 'read-only', 'bench').connect('bench');
    const groupDb = await groupConn.sync(clusterConn.db().basisT);
    const soloDb = soloConn.db();
    const query = '[:find ?e . :in $ ?v :where [?e :item/value ?v]]';
    let n = 0;
    const options = { concurrency: 16, durationMs };
    const group = await runLoad(() => q(query, groupDb, `read-${n % 20}-${n++ % 100}`), options);
    const alone = await runLoad(() => q(query, soloDb, `read-${n % 20}-${n++ % 100}`), options);
    console.log(`reads (a lookup query, 16 in flight, ${durationMs} ms): query-group node ${group.perSecond.toFixed(0)}/s (p99 ${group.p99Ms.toFixed(1)} ms)   solo node ${alone.perSecond.toFixed(0)}/s (p99 ${alone.p99Ms.toFixed(1)} ms)   ratio ${(group.perSecond / alone.perSecond).toFixed(2)}`);
    await soloClient.close();
  } finally {
    await solo.stop();
    await mini.stop();
    await rm(work, { recursive: true, force: true });
  }
}

try {
  console.log('the production topology in miniature on one machine (2 cores shared by every process), AWS emulator');
  await failover();
  await lagAndReads();
} finally {
  await emulator.stop();
}
