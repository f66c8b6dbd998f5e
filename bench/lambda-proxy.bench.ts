// What a Lambda ion costs per invocation, before Lambda's own overhead: the proxy
// (ions/lambda-proxy.ts) calling a deployed ion on a local node, side by side with the same
// ionInvoke sent on a bare transport (the proxy's own cost is the difference) and with a built-in
// operation of the node (listDatabases: one signed round trip that reads the catalog, no ion thread).
//
//   npm run bench -- bench/lambda-proxy.bench.ts        BENCH_ROUNDS=30 BENCH_CALLS=2000
//
// first call: a new proxy (or transport) per round, as a cold container: key file read, connection
//             opened, the call; median of BENCH_ROUNDS.
// warm call:  one proxy (or transport) for BENCH_CALLS calls one after another, as a warm
//             container; mean per call. Rounds alternate between the subjects.
// The node runs in a process of its own (an esbuild bundle of nodes/main.ts on local storage in a
// temporary directory; bundled with this file, main.ts would take the bench for its own entry
// point), as in bench/ion-call.bench.ts.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createClient } from '../client/index.ts';
import { resolveAccessKey } from '../client/remote/resolve-key.ts';
import { Transport } from '../client/remote/transport.ts';
import { createLambdaProxy } from '../ions/lambda-proxy.ts';
import { deployGreeter } from '../ions/lambda-proxy-test-support.ts';
import { median } from './timing.ts';
import { startNodeProcess } from './node-process.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const CALLS = Number(process.env.BENCH_CALLS ?? 1000);

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'factum-lambda-proxy-bench-'));
const node = await startNodeProcess(dataDir, 'lambda-proxy-node.mjs');
try {
  const client = createClient({ endpoint: node.endpoint, system: 'local', keyFile: node.keyFile });
  await client.createDatabase('shop');
  await client.close();
  const keyFolder = path.join(dataDir, 'access', 'dbs', 'shop', 'read-only');
  const keyFile = path.join(keyFolder, (await readdir(keyFolder)).find((file) => file.endsWith('.json'))!);
  const admin = new Transport({ endpoint: node.endpoint, system: 'local', key: resolveAccessKey({ endpoint: node.endpoint, system: 'local', keyFile: node.keyFile }) });
  await deployGreeter(admin, 'bench-1');
  admin.close();

  const event = { name: 'Ada', items: [1, 2, 3] };
  const input = JSON.stringify(event);
  const transport = (): Transport => new Transport({ endpoint: node.endpoint, system: 'local', key: resolveAccessKey({ endpoint: node.endpoint, system: 'local', keyFile }) });
  interface Subject {
    readonly name: string;
    /** A fresh caller (a cold container), and how it calls once; close releases its sockets. */
    open(): { call(): Promise<unknown>; close(): void };
  }
  const subjects: Subject[] = [
    {
      name: 'proxy → ionInvoke',
      open() {
        const proxy = createLambdaProxy({ FACTUM_ENDPOINT: node.endpoint, FACTUM_SYSTEM: 'local', FACTUM_ION_APP: 'greeter', FACTUM_ION_LAMBDA: 'greet', FACTUM_KEY_FILE: keyFile });
        return { call: () => proxy(event), close: () => undefined };
      },
    },
    {
      name: 'transport → ionInvoke',
      open() {
        const bare = transport();
        return { call: () => bare.call('ionInvoke', { name: 'greet', input }, { idempotent: false }), close: () => bare.close() };
      },
    },
    {
      name: 'transport → listDatabases',
      open() {
        const bare = transport();
        return { call: () => bare.call('listDatabases', {}, { idempotent: true }), close: () => bare.close() };
      },
    },
  ];

  const first = new Map<Subject, number[]>(subjects.map((subject) => [subject, []]));
  const warm = new Map<Subject, number[]>(subjects.map((subject) => [subject, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const subject of subjects) {
      const caller = subject.open();
      const started = performance.now();
      await caller.call();
      first.get(subject)!.push(performance.now() - started);
      caller.close();
    }
  }
  for (let round = 0; round < 3; round++) {
    for (const subject of subjects) {
      const caller = subject.open();
      await caller.call();
      const started = performance.now();
      for (let call = 0; call < CALLS; call++) await caller.call();
      warm.get(subject)!.push((performance.now() - started) / CALLS);
      caller.close();
    }
  }

  const peer = subjects[subjects.length - 1]!;
  const peerWarm = median(warm.get(peer)!);
  const rows = subjects.map((subject) => {
    const warmMs = median(warm.get(subject)!);
    return [subject.name, median(first.get(subject)!).toFixed(2), (warmMs * 1000).toFixed(0), (warmMs / peerWarm).toFixed(2)];
  });
  const header = ['', `first call ms (median of ${ROUNDS})`, `warm call µs (mean of ${CALLS}, median of 3)`, 'warm × peer'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]): string => cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
  console.log(`node ${process.version}; the node in its own process; the peer is a built-in operation's signed round trip`);
  console.log(line(header));
  for (const row of rows) console.log(line(row));
} finally {
  await node.stop();
  await rm(dataDir, { recursive: true, force: true });
}
