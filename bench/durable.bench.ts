// Durable indexes (issue 4), end to end: a transactor on the local backend that indexes in the
// background and holds only novelty in memory. Import rate, peak RSS, open time, cold and warm
// reads with ioStats, and the time to index 10k new datoms into databases of two sizes.
//
//   npm run bench -- bench/durable.bench.ts                   sizes 100k and 1M datoms (BENCH_SIZES=100000,1000000)
//   BENCH_SIZES=1000000,10000000 npm run bench -- bench/durable.bench.ts     the sizes (slow here)
//   BENCH_WORKER=0 ...                                        indexing on the main thread, not in a worker
//   BENCH_KEEP=1 ...                                          keep each database and print how to query it again
//   BENCH_RETRY_MS=10 ...                                     wait 10 ms, not 50, before retrying a transaction refused by back-pressure
//
// Data: people (name, email, age), items (sku, price) and orders (customer ref, items
// cardinality-many refs, total), made by the real transaction engine in transactions of 500
// entities, submitted 4 at a time (group commit, fsync on), with a 256 MiB segment cache.
// Indexing starts whenever novelty passes BENCH_NOVELTY bytes (default 16 MiB, the default).
//
// The query figures come from a child process that opens the database (root + log after it), so
// "open" is measured from process start (node boot included) to the first answered query. Cold
// reads start from a memory cache holding only the trees' root segments, as opening leaves it.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db, TxReport } from '../nodes/db/index.ts';
import { readDb } from '../nodes/db/durable-base.ts';
import { kw } from '../nodes/values/values.ts';
import { openLocalStorage } from '../nodes/storage/local/local-storage.ts';
import type { Storage } from '../nodes/storage/protocol.ts';
import { Transactor } from '../nodes/transactor/transactor.ts';
import { segmentPrefix } from '../nodes/indexer/root.ts';
import { IoContext, type IoStats } from '../nodes/cache/io-stats.ts';
import type { IndexName } from '../nodes/datom/datom.ts';
import { OrdersData, schema } from './orders.ts';

const NOVELTY_BYTES = Number(process.env.BENCH_NOVELTY ?? 16 * 1024 * 1024);
/** Index in a worker thread (the default of local and AWS storage); BENCH_WORKER=0 indexes on the main thread. */
const WORKER = process.env.BENCH_WORKER !== '0';
const RETRY_MS = Number(process.env.BENCH_RETRY_MS ?? 50);
const CACHE_BYTES = Number(process.env.BENCH_CACHE_MB ?? 256) * 1024 * 1024;
const DATABASE = 'bench';
const IN_FLIGHT = 4;

interface Built {
  readonly directory: string;
  readonly datoms: number;
  readonly importMs: number;
  /** CPU time of the process during the import (user + system; two cores can give more than wall time). */
  readonly importCpuMs: number;
  /** Transactions refused with storage/busy (back-pressure) and retried. */
  readonly busy: number;
  readonly rssPeakBytes: number;
  readonly heapPeakBytes: number;
  readonly externalPeakBytes: number;
  readonly index10kMs: number;
  readonly index10kSegments: number;
  readonly personE: number;
  readonly ageA: number;
}

function rssMb(bytes: number): string {
  return `${Math.round(bytes / 1024 / 1024)} MiB`;
}

async function openBench(directory: string): Promise<{ storage: Storage; transactor: Transactor }> {
  const storage = await openLocalStorage(join(directory, 'storage'));
  const transactor = await Transactor.open(storage, DATABASE, { indexing: { noveltyBytesMax: NOVELTY_BYTES, cacheBytesMax: CACHE_BYTES, worker: WORKER } });
  return { storage, transactor };
}

async function countSegments(storage: Storage): Promise<number> {
  let n = 0;
  for await (const _ of storage.listSegments(segmentPrefix(DATABASE))) n++;
  return n;
}

async function build(target: number): Promise<Built> {
  const directory = await mkdtemp(join(tmpdir(), 'factum-bench-durable-'));
  const { storage, transactor } = await openBench(directory);
  await transactor.transact(schema);
  const data = new OrdersData(transactor.db());
  let rssPeakBytes = 0;
  let heapPeakBytes = 0;
  let externalPeakBytes = 0;
  let busy = 0;
  const record = (report: TxReport): void => {
    data.record(report);
    const usage = process.memoryUsage();
    rssPeakBytes = Math.max(rssPeakBytes, usage.rss);
    heapPeakBytes = Math.max(heapPeakBytes, usage.heapUsed);
    externalPeakBytes = Math.max(externalPeakBytes, usage.external + usage.arrayBuffers);
  };
  /** Transacts until `until` datoms, IN_FLIGHT transactions at a time. */
  const load = async (until: number): Promise<void> => {
    const inFlight = new Set<Promise<void>>();
    while (data.datoms < until) {
      while (inFlight.size < IN_FLIGHT) {
        const p: Promise<void> = transactor.transact(data.next()).then(record, async (error: unknown) => {
          if ((error as { code?: string }).code !== 'storage/busy') throw error;
          busy++;
          await new Promise((resolve) => setTimeout(resolve, RETRY_MS)); // back-pressure: indexing catches up
        });
        const tracked = p.finally(() => inFlight.delete(tracked));
        inFlight.add(tracked);
      }
      await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  };
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  await load(target);
  await transactor.indexNow();
  const importMs = performance.now() - start;
  const cpu = process.cpuUsage(cpuStart);
  const importCpuMs = (cpu.user + cpu.system) / 1000;
  const imported = data.datoms;
  // 10k new datoms, indexed alone.
  await load(data.datoms + 10_000);
  const segmentsBefore = await countSegments(storage);
  const tenKStart = performance.now();
  await transactor.indexNow();
  const index10kMs = performance.now() - tenKStart;
  const index10kSegments = (await countSegments(storage)) - segmentsBefore;
  const db = transactor.db();
  await transactor.close();
  await storage.close();
  const personE = data.somePerson;
  return { directory, datoms: imported, importMs, importCpuMs, busy, rssPeakBytes, heapPeakBytes, externalPeakBytes, index10kMs, index10kSegments, personE, ageA: db.attribute(kw('person/age'))!.id };
}

function formatStats(stats: IoStats): string {
  return ['memory', 'directory', 'storage']
    .filter((level) => stats[level] !== undefined)
    .map((level) => `${level} ${stats[level]!.hits} hit/${stats[level]!.misses} miss`)
    .join(', ');
}

async function timed(db: Db, index: IndexName, components: unknown[], limit: number): Promise<{ ms: number; rows: number; stats: IoStats }> {
  const context = new IoContext();
  const start = performance.now();
  const rows = await readDb(
    db.state.base,
    () => {
      let n = 0;
      for (const _ of db.datoms(index, ...components)) if (++n >= limit) break;
      return n;
    },
    context,
  );
  return { ms: performance.now() - start, rows, stats: context.snapshot() };
}

/** The child process: open (root + log after it), answer a query, then measure cold and warm reads. */
async function query(directory: string, personE: number, ageA: number): Promise<void> {
  const { storage, transactor } = await openBench(directory);
  await timed(transactor.db(), 'eavt', [personE], Infinity);
  const openMs = performance.now(); // since process start
  const db = transactor.db();
  const nodes = transactor.indexing!.indexer.nodes;
  const lines: string[] = [`  open → first answered query (from process start): ${openMs.toFixed(0)} ms`];
  const cases: Array<[string, IndexName, unknown[], number]> = [
    ['point lookup  eavt [e]       ', 'eavt', [personE], Infinity],
    ['1,000-row range avet [age]   ', 'avet', [ageA], 1000],
  ];
  for (const [name, index, components, limit] of cases) {
    nodes.clear(); // cold: every segment from storage but the trees' roots, which opening loads
    await transactor.indexing!.indexer.loadRoots();
    const first = await timed(db, index, components, limit);
    const warm = await timed(db, index, components, limit);
    lines.push(`  ${name} cold ${first.ms.toFixed(2)} ms (${first.rows} rows; ${formatStats(first.stats)})`);
    lines.push(`  ${name} warm ${warm.ms.toFixed(3)} ms (${formatStats(warm.stats)})`);
  }
  const trees = transactor.indexing!.indexer.trees;
  lines.push(`  tree heights: eavt ${trees.eavt.current.height + 1} levels, avet ${trees.avet.current.height + 1} levels`);
  lines.push(`  RSS after queries: ${rssMb(process.memoryUsage().rss)}`);
  await transactor.close();
  await storage.close();
  console.log(lines.join('\n'));
}

async function main(): Promise<void> {
  const sizes = (process.env.BENCH_SIZES ?? '100000,1000000').split(',').map(Number);
  const self = fileURLToPath(import.meta.url);
  const results: Array<{ size: number; built: Built }> = [];
  for (const size of sizes) {
    const built = await build(size);
    results.push({ size, built });
    const rate = built.datoms / (built.importMs / 1000);
    console.log(`\n${built.datoms.toLocaleString('en')} datoms (target ${size.toLocaleString('en')})`);
    console.log(`  import with indexing (transactor, fsync, background indexing): ${(built.importMs / 1000).toFixed(1)} s, ${Math.round(rate).toLocaleString('en')} datoms/s`);
    console.log(`    CPU time ${(built.importCpuMs / 1000).toFixed(1)} s; ${built.busy} transactions refused with storage/busy (back-pressure) and retried after ${RETRY_MS} ms`);
    console.log(`  peak RSS during import: ${rssMb(built.rssPeakBytes)} (peak JS heap used ${rssMb(built.heapPeakBytes)}, external + array buffers ${rssMb(built.externalPeakBytes)})`);
    console.log(`  index 10k new datoms: ${built.index10kMs.toFixed(0)} ms, ${built.index10kSegments} segments written`);
    const child = spawnSync(process.execPath, [...process.execArgv, self, '--query', built.directory, String(built.personE), String(built.ageA)], { stdio: 'inherit' });
    if (child.status !== 0) process.exitCode = child.status ?? 1;
    if (process.env.BENCH_KEEP === '1') console.log(`  kept: ${built.directory} (--query ${built.directory} ${built.personE} ${built.ageA})`);
    else await rm(built.directory, { recursive: true, force: true });
  }
  if (results.length >= 2) {
    const [small, large] = [results[0]!, results[results.length - 1]!];
    console.log(`\nindex 10k datoms: ${small.built.index10kMs.toFixed(0)} ms into ${small.size.toLocaleString('en')} vs ${large.built.index10kMs.toFixed(0)} ms into ${large.size.toLocaleString('en')} (ratio ${(large.built.index10kMs / small.built.index10kMs).toFixed(2)})`);
  }
}

if (process.argv[2] === '--query') await query(process.argv[3]!, Number(process.argv[4]), Number(process.argv[5]));
else await main();
