// The node's HTTP API under load (issue 16): requests/s and p50/p99 latency of a point pull, a
// 100-row query and a 5-datom transaction, through the remote client against a node in its own
// process, side by side with the same calls in-process (the embedded client on a local
// directory) and, for the point pull, with a bare `node:http` server in its own process that
// answers the pull's bytes and does nothing else: the limit of this machine. Then group commit
// over HTTP: 1 and 16 remote submitters of 5-datom transactions, with fsync as the node does it.
//
//   npm run bench -- bench/server.bench.ts      BENCH_MS=3000 per row (the default)
//                                               BENCH_CONCURRENCY=16 calls in flight
//                                               BENCH_ROUNDS=3: read rows run in turns of
//                                               BENCH_MS / 3, so noise falls on every side
//                                               BENCH_NODE_PROF=DIR: the node runs with --cpu-prof
//                                               FACTUM_LOG_LEVEL passes to the node (default info)
//
// The node is a separate process, run from an esbuild bundle of nodes/main.ts (of the working
// tree as it is) with the environment `factum serve` gives it, as the deployed node bundle runs:
// a bundle keeps tsx's per-closure wrapping out of hot loops (bench/run.ts says why), and its own
// process keeps the load generator off the node's event loop. On a 2-core machine the load
// generator and the server still share the cores; the bare server pays the same, so the ratio to
// it is the node's own cost. The CPU time per call of each process is printed too: on a noisy
// machine it moves less than requests/s do.
//
// The bare server is driven twice: raw (a fixed request body, the answer not decoded) and with
// the remote client's own per-call work (encode the arguments, sign the request, decode the
// answer: everything client/remote/transport.ts does but HTTP). The second isolates what the node
// adds, and is the one the goal (remote >= 50% of bare) is measured against.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync } from 'node:fs';
import { createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { createClient, kw, q, type Client, type Connection } from '../client/index.ts';
import { readAccessKeyFile } from '../client/remote/access-key.ts';
import { signRequest } from '../client/remote/signing.ts';
import { decode, encode } from '../client/wire/codec.ts';
import { contentTypes } from '../client/wire/protocol.ts';
import type { Announcement } from '../nodes/cli/serve.ts';
import { openLocalStorage } from '../nodes/storage/local/local-storage.ts';
import { bareCaller, clientAgent, runInTurns, runLoad, startBareServer, type LoadResult } from './load.ts';

const durationMs = Number(process.env.BENCH_MS ?? 3000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const CITIES = 100;
const PEOPLE_PER_CITY = 100;
const cities = Array.from({ length: CITIES }, (_, i) => `city-${i}`);
const queryText = '[:find ?name ?age :in $ ?city :where [?e :p/city ?city] [?e :p/name ?name] [?e :p/age ?age]]';

// ---------------------------------------------------------------------------------------------
// The node process

interface NodeProcess {
  readonly announcement: Announcement;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Bundles the node's entry (nodes/main.ts, what the deployed node bundle runs) beside this bundle,
 * where bench/run.ts put index-worker.mjs. Not nodes/cli/main.ts: a bundle of it holds
 * nodes/main.ts, whose entry-point check then sees the bundle as itself and starts a second node.
 */
async function bundleNode(): Promise<string> {
  const outfile = path.join(process.cwd(), 'node_modules', '.factum-bench', 'factum-node.mjs');
  await build({ bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', keepNames: false, logLevel: 'warning', entryPoints: [path.join(process.cwd(), 'nodes', 'main.ts')], outfile });
  return outfile;
}

/** A port free on 127.0.0.1 now (the node is told its port, so that it need not announce it). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls the node's /health until it answers 200 (it is ready), for at most 30 s. */
async function waitUntilReady(endpoint: string, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the node did not start; see ${logFile}`);
    const status = await new Promise<number>((resolve) => {
      get(`${endpoint}/health`, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      }).once('error', () => resolve(0));
    });
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Starts a node over `dir` with the environment `factum serve` gives it (nodes/cli/serve.ts). Its
 * stdout (its log) goes straight to `logFile`, so that this process does not pump the node's log
 * lines.
 */
async function startNodeProcess(bundle: string, dir: string, logFile: string): Promise<NodeProcess> {
  const profile = process.env.BENCH_NODE_PROF;
  const port = await freePort();
  const fd = openSync(logFile, 'w');
  const flags = profile === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', path.resolve(profile)];
  const environment = { ...process.env, FACTUM_SYSTEM: 'local', FACTUM_ROLE: 'primary', FACTUM_STORAGE: 'local', FACTUM_DATA_DIR: dir, FACTUM_PORT: String(port), FACTUM_HOST: '127.0.0.1' };
  const child = spawn(process.execPath, [...flags, bundle], { stdio: ['ignore', fd, fd], env: environment });
  closeSync(fd);
  const endpoint = `http://127.0.0.1:${port}`;
  await waitUntilReady(endpoint, child, logFile);
  const keys = path.join(dir, 'access', 'admin');
  const announcement: Announcement = { endpoint, system: 'local', keyFile: path.join(keys, readdirSync(keys).find((name) => name.endsWith('.json'))!) };
  return {
    announcement,
    process: child,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The data: 10,000 people in 100 cities, on each side alike

const one = (ident: string, type: string) => ({ 'db/ident': kw(ident), 'db/valueType': kw(`db.type/${type}`), 'db/cardinality': kw('db.cardinality/one') });
const schema = [one('p/name', 'string'), one('p/age', 'long'), one('p/salary', 'long'), one('p/city', 'string'), one('p/email', 'string')];

/** 5 datoms (and the transaction's instant): the transaction of bench/commit-workload.ts. */
function person(tag: string, i: number, city: string): Record<string, unknown> {
  return { 'p/name': `n${tag}-${i}`, 'p/age': i % 90, 'p/salary': i * 7, 'p/city': city, 'p/email': `e${tag}-${i}@x` };
}

interface Side {
  readonly name: string;
  readonly client: Client;
  readonly people: Connection;
  /** Entity ids of the people, to pull. */
  readonly eids: readonly number[];
}

async function prepareSide(name: string, client: Client): Promise<Side> {
  for (const database of ['people', 'tx-1', 'tx-16']) {
    await client.createDatabase(database);
    await (await client.connect(database)).transact(schema);
  }
  const people = await client.connect('people');
  for (let c = 0; c < CITIES; c++) {
    await people.transact(Array.from({ length: PEOPLE_PER_CITY }, (_, i) => person('load', c * PEOPLE_PER_CITY + i, cities[c]!)));
  }
  const eids = (await q('[:find [?e ...] :where [?e :p/name]]', people.db())) as number[];
  if (eids.length !== CITIES * PEOPLE_PER_CITY) throw new Error(`${name}: loaded ${eids.length} people, expected ${CITIES * PEOPLE_PER_CITY}`);
  return { name, client, people, eids: eids.sort((a, b) => a - b) };
}

// ---------------------------------------------------------------------------------------------
// The workloads

/** A point pull of a rotating entity, a 100-row query of a rotating city. */
function readCalls(side: Side): { pull: () => Promise<unknown>; query: () => Promise<unknown> } {
  const db = side.people.db();
  let next = 0;
  return {
    pull: () => db.pull('[*]', side.eids[next++ % side.eids.length]),
    query: async () => {
      const rows = (await q(queryText, db, cities[next++ % CITIES])) as unknown[];
      if (rows.length !== PEOPLE_PER_CITY) throw new Error(`${side.name}: the query answered ${rows.length} rows, expected ${PEOPLE_PER_CITY}`);
    },
  };
}

interface TransactionRate {
  readonly load: LoadResult;
  /** Transactions committed, the warm-up's included (each is in one log entry). */
  readonly transactions: number;
}

async function transactionRate(side: Side, submitters: number, serverPid?: number): Promise<TransactionRate> {
  const conn = await side.client.connect(`tx-${submitters}`);
  const startT = (await conn.sync()).basisT;
  let i = 0;
  const load = await runLoad(() => conn.transact([person('tx', i++, 'Oslo')]), { concurrency: submitters, durationMs, ...(serverPid === undefined ? {} : { serverPid }) });
  return { load, transactions: (await conn.sync()).basisT - startT };
}

/**
 * Calls of the bare server as the remote client makes a pull: the same request and answer bytes,
 * raw (the fixed request, the answer left undecoded) and with the client's work (encode, sign,
 * decode).
 */
async function bareCalls(remote: Side, announcement: Announcement, endpoint: string): Promise<{ raw: () => Promise<unknown>; signed: () => Promise<unknown> }> {
  const ref = (remote.people.db() as unknown as { ref: unknown }).ref;
  const requestBody = encode({ db: ref, pattern: '[*]', eid: remote.eids[0]! });
  const key = await readAccessKeyFile(announcement.keyFile!);
  const raw = bareCaller(endpoint, '/api/pull', clientAgent(), {
    prepare: (_path, host) => ({ body: requestBody, headers: { host, 'content-type': contentTypes.message } }),
    finish: (bytes) => bytes,
  });
  let next = 0;
  const signed = bareCaller(endpoint, '/api/pull', clientAgent(), {
    prepare: (requestPath, host) => {
      const body = encode({ db: ref, pattern: '[*]', eid: remote.eids[next++ % remote.eids.length] });
      const headers = { host, 'content-type': contentTypes.message, accept: `${contentTypes.message}, ${contentTypes.frames}` };
      return { body, headers: { ...headers, ...signRequest(key, announcement.system, { method: 'POST', path: requestPath, headers: { host, 'content-type': headers['content-type'] }, body }, Date.now()) } };
    },
    finish: (bytes) => decode(bytes),
  });
  return { raw, signed };
}

/** The point pull and the query on every side, in turns. */
async function readResults(remote: Side, local: Side, announcement: Announcement, nodeProcess: ChildProcess): Promise<Record<string, LoadResult>> {
  // The bare server answers what the node answers to a pull.
  const bare = await startBareServer(encode(await remote.people.db().pull('[*]', remote.eids[0]!)), contentTypes.message);
  try {
    const bareCall = await bareCalls(remote, announcement, bare.endpoint);
    const [remoteCall, localCall] = [readCalls(remote), readCalls(local)];
    const options = { concurrency, durationMs };
    const [barePid, nodePid] = [bare.process.pid!, nodeProcess.pid!];
    const pulls = await runInTurns(
      {
        'pull bare raw': { call: bareCall.raw, serverPid: barePid },
        'pull bare signed': { call: bareCall.signed, serverPid: barePid },
        'pull remote': { call: remoteCall.pull, serverPid: nodePid },
        'pull in-process': { call: localCall.pull },
      },
      rounds,
      options,
    );
    const queries = await runInTurns({ 'query remote': { call: remoteCall.query, serverPid: nodePid }, 'query in-process': { call: localCall.query } }, rounds, options);
    return { ...pulls, ...queries };
  } finally {
    await bare.stop();
  }
}

/**
 * The floor under any durable commit on this disk (bench/commit.bench.ts's peer): appends of a
 * transaction's bytes, each followed by fsync, from the same number of submitters, no grouping.
 */
async function appendRate(submitters: number, bytes: number): Promise<number> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'factum-append-'));
  const file = await open(path.join(dir, 'log'), 'a');
  const payload = Buffer.alloc(bytes, 7);
  try {
    const result = await runLoad(
      async () => {
        await file.write(payload);
        await file.sync();
      },
      { concurrency: submitters, durationMs },
    );
    return result.perSecond;
  } finally {
    await file.close();
    await rm(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// The tables

const cpu = (us: number): string => (Number.isNaN(us) ? '-' : us.toFixed(0));
const row = (workload: string, side: string, r: LoadResult): string =>
  `${workload.padEnd(22)}${side.padEnd(30)}${r.perSecond.toFixed(0).padStart(10)}${r.p50Ms.toFixed(2).padStart(10)}${r.p99Ms.toFixed(2).padStart(10)}${cpu(r.clientCpuUs).padStart(16)}${cpu(r.serverCpuUs).padStart(16)}`;
const ratio = (a: LoadResult, b: LoadResult): string => {
  const percent = (a.perSecond / b.perSecond) * 100;
  return `${percent.toFixed(percent < 10 ? 2 : 0)}%`;
};

/** Log entries of a database (each group commit writes one), read from the stopped node's directory. */
async function logWrites(dir: string, database: string): Promise<number> {
  const storage = await openLocalStorage(dir);
  const catalog = JSON.parse(new TextDecoder().decode((await storage.getRecord('catalog'))!.bytes)) as { databases: Array<{ id: string; name: string }> };
  const id = catalog.databases.find((d) => d.name === database)!.id;
  try {
    // Less the schema's transaction.
    return (await storage.logLength(`db-${id}`)) - 1;
  } finally {
    await storage.close();
  }
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'factum-server-bench-'));
  const node = await startNodeProcess(await bundleNode(), path.join(work, 'node'), path.join(work, 'node.log'));
  const remoteClient = createClient({ endpoint: node.announcement.endpoint, system: node.announcement.system, keyFile: node.announcement.keyFile! });
  const localClient = createClient({ storage: 'local', dir: path.join(work, 'local') });
  const results: Record<string, LoadResult> = {};
  const transactions: Record<1 | 16, number> = { 1: 0, 16: 0 };
  const appends: Record<1 | 16, number> = { 1: 0, 16: 0 };
  let nodeStopped = false;
  try {
    const remote = await prepareSide('remote', remoteClient);
    const local = await prepareSide('in-process', localClient);
    Object.assign(results, await readResults(remote, local, node.announcement, node.process));
    for (const submitters of [1, 16] as const) {
      appends[submitters] = await appendRate(submitters, 200);
      for (const side of [remote, local]) {
        const rate = await transactionRate(side, submitters, side === remote ? node.process.pid : undefined);
        results[`tx${submitters} ${side.name}`] = rate.load;
        if (side === remote) transactions[submitters] = rate.transactions;
      }
    }
    await remoteClient.close();
    await localClient.close();
    await node.stop();
    nodeStopped = true;
    const perWrite = { 1: transactions[1] / (await logWrites(path.join(work, 'node'), 'tx-1')), 16: transactions[16] / (await logWrites(path.join(work, 'node'), 'tx-16')) };
    printTables(results, perWrite, appends);
  } finally {
    if (!nodeStopped) await node.stop();
    await rm(work, { recursive: true, force: true });
  }
}

function printTables(r: Record<string, LoadResult>, txPerLogWrite: Record<1 | 16, number>, appends: Record<1 | 16, number>): void {
  const get = (name: string): LoadResult => r[name]!;
  console.log(`client API over loopback: ${concurrency} calls in flight; ${durationMs} ms per row (reads: in ${rounds} turns, sides alternating), each after a warm-up of a fifth of it; node and bare server each in their own process`);
  console.log(`${'workload'.padEnd(22)}${'side'.padEnd(30)}${'calls/s'.padStart(10)}${'p50 ms'.padStart(10)}${'p99 ms'.padStart(10)}${'client µs/call'.padStart(16)}${'server µs/call'.padStart(16)}`);
  console.log('(client µs/call: CPU time of the load generator\'s process, which in-process runs the engine too; server µs/call: of the server\'s process, all threads)');
  console.log(row('point pull [*]', 'bare http, raw', get('pull bare raw')));
  console.log(row('', 'bare http + client work', get('pull bare signed')));
  console.log(row('', 'remote (node process)', get('pull remote')));
  console.log(row('', 'in-process (embedded, local)', get('pull in-process')));
  console.log(row('100-row query', 'remote (node process)', get('query remote')));
  console.log(row('', 'in-process (embedded, local)', get('query in-process')));
  console.log(row('5-datom transaction', 'remote (node process)', get('tx16 remote')));
  console.log(row('', 'in-process (embedded, local)', get('tx16 in-process')));
  console.log('');
  console.log(`point pull   remote / bare + client work: ${ratio(get('pull remote'), get('pull bare signed'))} (goal >= 50%)   remote / bare raw: ${ratio(get('pull remote'), get('pull bare raw'))}   remote / in-process: ${ratio(get('pull remote'), get('pull in-process'))}`);
  console.log(`point pull   server CPU per call, node / bare server: ${(get('pull remote').serverCpuUs / get('pull bare signed').serverCpuUs).toFixed(1)}x   client CPU per call, remote client / bare + client work: ${(get('pull remote').clientCpuUs / get('pull bare signed').clientCpuUs).toFixed(1)}x`);
  console.log(`query        remote / in-process: ${ratio(get('query remote'), get('query in-process'))}`);
  console.log(`transaction  remote / in-process: ${ratio(get('tx16 remote'), get('tx16 in-process'))}`);
  console.log('');
  console.log(`group commit over HTTP: 5-datom transactions, local storage with fsync, ${durationMs} ms per row; append+fsync/s: 200-byte appends each followed by fsync from as many submitters, the disk's floor`);
  console.log(`${'submitters'.padEnd(12)}${'remote tx/s'.padStart(12)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'tx per log write'.padStart(18)}${'in-process tx/s'.padStart(17)}${'append+fsync/s'.padStart(16)}`);
  for (const n of [1, 16] as const) {
    const remote = get(`tx${n} remote`);
    console.log(`${String(n).padEnd(12)}${remote.perSecond.toFixed(0).padStart(12)}${remote.p50Ms.toFixed(2).padStart(9)}${remote.p99Ms.toFixed(2).padStart(9)}${txPerLogWrite[n].toFixed(1).padStart(18)}${get(`tx${n} in-process`).perSecond.toFixed(0).padStart(17)}${appends[n].toFixed(0).padStart(16)}`);
  }
  const remoteGain = get('tx16 remote').perSecond / get('tx1 remote').perSecond;
  const localGain = get('tx16 in-process').perSecond / get('tx1 in-process').perSecond;
  console.log(`16 / 1 submitters: remote ${remoteGain.toFixed(1)}x (goal >= 10x), in-process ${localGain.toFixed(1)}x, raw append+fsync (no grouping, the disk's own gain) ${(appends[16] / appends[1]).toFixed(1)}x`);
}

await main();
