// The cost of calling an ion through the ion host (nodes/ions/host.ts) instead of in process:
// the same functions of test-fixtures/ledger-ion.ts, called through IonHost (values encoded,
// the thread hop, the answer decoded) and directly, side by side with the ratio.
//
//   npm run bench -- bench/ion-call.bench.ts      BENCH_MS=2000 per row (the default)
//
//   callSync score(n)        a query function on a number (the floor of a synchronous call)
//   callSync echo(values)    a query function on a keyword, a bigint, a date and a small map
//   callTransaction audit    a transaction function that runs one query on its db (over HTTP to
//                            the node, in both columns) and answers one map of tx-data;
//                            sequential, then 16 in flight
//
// The node runs in a process of its own (an esbuild bundle of nodes/main.ts on local storage in a
// temporary directory; bundled with this file, main.ts would take the bench for its own entry
// point). The ion host runs here, and the in-process column calls the same function with a db
// value of the same node through the remote client, so both columns pay the same query and the
// difference is the host's.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { createClient, type Connection, type Db } from '../client/index.ts';
import { readAccessKeyFile } from '../client/remote/access-key.ts';
import { decode, encode } from '../client/wire/codec.ts';
import { runtimeSymbol } from '../ions/runtime.ts';
import { IonHost } from '../nodes/ions/host.ts';
import * as ledger from '../nodes/ions/test-fixtures/ledger-ion.ts';
import * as values from '../nodes/values/values.ts';
import { startNodeProcess } from './node-process.ts';

const durationMs = Number(process.env.BENCH_MS ?? 2000);
const fixture = path.resolve('nodes/ions/test-fixtures/ledger-ion.ts');

/** Calls per second of `fn` (synchronous) for about `durationMs`. */
function rateSync(fn: (i: number) => unknown): number {
  const start = performance.now();
  let calls = 0;
  while (performance.now() - start < durationMs) fn(calls++);
  return (calls * 1000) / (performance.now() - start);
}

/** Calls per second of `fn` with `inFlight` calls at a time, for about `durationMs`. */
async function rateAsync(fn: (i: number) => Promise<unknown>, inFlight: number): Promise<number> {
  const start = performance.now();
  let calls = 0;
  const lane = async (): Promise<void> => {
    while (performance.now() - start < durationMs) await fn(calls++);
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return (calls * 1000) / (performance.now() - start);
}

const rows: Array<{ readonly name: string; readonly host: number; readonly direct: number }> = [];
function row(name: string, host: number, direct: number): void {
  rows.push({ name, host, direct });
  console.log(`${name.padEnd(34)} ${host.toFixed(0).padStart(10)} ${direct.toFixed(0).padStart(12)}   ${(direct / host).toFixed(1).padStart(9)}x`);
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'factum-ion-bench-'));
const node = await startNodeProcess(dir, 'ion-call-node.mjs');
const key = await readAccessKeyFile(node.keyFile);
const client = createClient({ endpoint: node.endpoint, system: 'local', keyFile: node.keyFile });
await client.createDatabase('bank');
const conn: Connection = await client.connect('bank');
await conn.transact(`[{:db/ident :acct/name :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
  {:db/ident :acct/balance :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
  {:db/ident :audit/seen :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
  {:db/ident :audit/basis :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
  {:db/ident :audit/kind :db/valueType :db.type/keyword :db/cardinality :db.cardinality/one}]`);
await conn.transact([{ 'acct/name': 'ann', 'acct/balance': 100 }]);
const db: Db = conn.db();

const bundle = (await build({ entryPoints: [fixture], bundle: true, format: 'esm', platform: 'node', target: 'node20', write: false, logLevel: 'error' })).outputFiles[0]!.text;
const host = await IonHost.start({
  bundle,
  config: { appName: 'ledger', allow: ['score', 'echo', 'audit'] },
  group: 'primary',
  env: {},
  params: { kind: 'file', path: path.join(dir, 'params.json') },
  client: { endpoint: node.endpoint, system: 'local', accessKey: { keyId: key.keyId, secret: key.secret } },
  callTimeoutMs: 30_000,
  syncTimeoutMs: 5_000,
  memoryMb: 256,
  onCast: () => undefined,
});
// The in-process column needs factum/ion's values (audit answers a keyword).
(globalThis as Record<symbol, unknown>)[runtimeSymbol] = { values };

const sample = [values.kw('acct/balance'), 2n ** 63n, new Date(Date.UTC(2026, 0, 1)), { 'acct/name': 'ann', tags: ['a', 'b'] }];
const ref = { database: 'bank', basisT: db.basisT };
// Warm both sides (the thread's JIT, the connection) before measuring.
for (let i = 0; i < 2000; i++) host.callSync('score', [i]);
for (let i = 0; i < 50; i++) await host.callTransaction('audit', ref, ['ann']);

console.log(`ion calls, ${durationMs} ms per cell (calls/s)`);
console.log(`${'call'.padEnd(34)} ${'ion host'.padStart(10)} ${'in process'.padStart(12)}   ${'host costs'.padStart(10)}`);
row('callSync score(n)', rateSync((i) => host.callSync('score', [i])), rateSync((i) => ledger.score(i)));
row('callSync echo(kw, bigint, date, map)', rateSync(() => host.callSync('echo', sample)), rateSync(() => ledger.echo(...sample)));
row('callTransaction audit, 1 in flight', await rateAsync(() => host.callTransaction('audit', ref, ['ann']), 1), await rateAsync(() => ledger.audit(db, 'ann'), 1));
row('callTransaction audit, 16 in flight', await rateAsync(() => host.callTransaction('audit', ref, ['ann']), 16), await rateAsync(() => ledger.audit(db, 'ann'), 16));
const sync = rows[0]!;
const echo = rows[1]!;
// What the values' trip costs alone: the arguments and the answer each encoded and decoded once.
const codecRate = rateSync(() => decode(encode(decode(encode(sample)))));
console.log(`a query function call through the host costs ${(1e6 / sync.host - 1e6 / sync.direct).toFixed(1)} µs more than in process (echo: ${(1e6 / echo.host - 1e6 / echo.direct).toFixed(1)} µs, of which the wire codec ${(1e6 / codecRate).toFixed(1)} µs; the rest is the hop between threads)`);

await host.stop();
await client.close();
await node.stop();
await rm(dir, { recursive: true, force: true });
