// Cold open of a database on the AWS backend (emulator: dynalite + s3rver): a database of
// BENCH_DATOMS datoms (default 1M, people/items/orders) is transacted and indexed into S3; then a
// fresh system (new SDK clients, empty memory cache) opens it and answers a first query, three
// ways: with empty SSD and EFS cache levels (every segment from S3), with a fresh SSD level over
// the EFS level the first open warmed, and with both levels warm. Each time is from "connect"
// to the first answer (node boot excluded). The peer is the first open: the ratios are what
// carry over to AWS, not the emulator's absolute times.
// Run: NODE_OPTIONS=--openssl-legacy-provider npm run bench -- bench/aws-open.bench.ts
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { emulatorCredentials, startEmulator } from '../localstack/emulator.ts';
import { awsStorageConfigFromEnvironment, createAwsStorage } from '../nodes/storage/aws/index.ts';
import { System } from '../nodes/transactor/system.ts';
import { readDb } from '../nodes/db/durable-base.ts';
import { IoContext, type IoStats } from '../nodes/cache/io-stats.ts';
import { query } from '../nodes/query/index.ts';
import { OrdersData, schema } from './orders.ts';

const target = Number(process.env.BENCH_DATOMS ?? 1_000_000);
const emulator = await startEmulator();
const directory = await mkdtemp(join(tmpdir(), 'factum-bench-aws-open-'));
const config = { ...awsStorageConfigFromEnvironment({ ...process.env, ...emulator.env }), credentials: emulatorCredentials, prefix: `bench-${randomUUID()}/` };

function levels(stats: IoStats): string {
  return Object.entries(stats)
    .map(([level, s]) => `${level} ${s.hits} hit/${s.misses} miss`)
    .join(', ');
}

/** Opens the system afresh with these cache directories and answers a first query. */
async function openAndQuery(ssd: string, efs: string): Promise<{ ms: number; answer: unknown; io: IoStats }> {
  const start = performance.now();
  const system = new System(createAwsStorage(config), { indexing: { cacheDirectory: join(directory, ssd), efsCacheDirectory: join(directory, efs) } });
  const transactor = await system.connect('shop');
  const db = transactor.db();
  const context = new IoContext();
  const answer = await readDb(db.state.base, () => query({ query: '[:find (count ?o) . :where [?o :order/customer ?c] [?c :person/age 42]]', args: [db] }), context);
  const ms = performance.now() - start;
  await system.close();
  return { ms, answer, io: context.snapshot() };
}

try {
  const system = new System(createAwsStorage(config));
  await system.createDatabase('shop');
  const transactor = await system.connect('shop');
  await transactor.transact(schema);
  const data = new OrdersData(transactor.db());
  const started = performance.now();
  while (data.datoms < target) {
    const reports = await Promise.all(Array.from({ length: 4 }, () => transactor.transact(data.next())));
    for (const report of reports) data.record(report);
  }
  await transactor.indexNow();
  console.log(`built ${data.datoms.toLocaleString('en')} datoms on the emulator and indexed them into S3 in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  await system.close();

  const cold = await openAndQuery('ssd-a', 'efs');
  const efsWarm = await openAndQuery('ssd-b', 'efs');
  const bothWarm = await openAndQuery('ssd-b', 'efs');
  if (JSON.stringify(cold.answer) !== JSON.stringify(efsWarm.answer) || JSON.stringify(cold.answer) !== JSON.stringify(bothWarm.answer)) throw new Error('the opens disagree');
  console.log('open → first answered query (fresh process state; the first query joins orders to people aged 42)');
  console.log('caches                         ms      vs empty   segment reads of the query');
  for (const [name, run] of [['empty SSD + empty EFS', cold], ['empty SSD + warm EFS', efsWarm], ['warm SSD + warm EFS', bothWarm]] as const) {
    console.log(`${name.padEnd(28)} ${run.ms.toFixed(0).padStart(6)}  ${(cold.ms / run.ms).toFixed(2).padStart(8)}x   ${levels(run.io)}`);
  }
} finally {
  await emulator.stop();
  await rm(directory, { recursive: true, force: true });
}
