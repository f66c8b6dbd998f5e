// Durable indexes (issue 4): import with indexing, RSS, open time, cold and warm reads with
// ioStats, and the time to index 10k new datoms into databases of two sizes.
//
//   npm run bench -- bench/durable.bench.ts                   sizes 100k and 1M datoms (BENCH_SIZES=100000,1000000)
//   BENCH_SIZES=1000000,10000000 npm run bench -- bench/durable.bench.ts     the sizes (slow here)
//
// Data: people (name, email, age), items (sku, price) and orders (customer ref, items
// cardinality-many refs, total), made by the real transaction engine in transactions of 500
// entities, on the local directory backend, with a 256 MiB memory cache and a directory cache.
// Indexing runs inline whenever novelty passes BENCH_NOVELTY datoms (default 200k); the memory
// engine still holds every datom (its integration with the durable trees is the next step), so
// the RSS figure of import is the memory engine's plus the indexer's.
//
// The query figures come from a child process that opens the database from its root, so "open"
// is measured from process start (node + tsx boot included) to the first answered query.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { emptyDb, type Db } from '../nodes/db/index.ts';
import { kw } from '../nodes/values/values.ts';
import { openLocalStorage } from '../nodes/storage/local/local-storage.ts';
import { createMemoryStorage } from '../nodes/storage/memory/memory-storage.ts';
import { Indexer } from '../nodes/indexer/indexer.ts';
import { bootstrapTransaction, indexInputOf } from '../nodes/indexer/db-input.ts';
import type { LoggedTransaction } from '../nodes/indexer/novelty.ts';
import { IoContext, type IoStats } from '../nodes/cache/io-stats.ts';
import type { Datom, IndexName } from '../nodes/datom/datom.ts';
import { seededRandom } from './people.ts';

const NOVELTY_MAX = Number(process.env.BENCH_NOVELTY ?? 200_000);
const CACHE_BYTES = 256 * 1024 * 1024;
const DATABASE = 'bench';
/** BENCH_STORAGE=memory: the memory backend, to separate CPU from disk (no query figures then). */
const IN_MEMORY = process.env.BENCH_STORAGE === 'memory';

const attribute = (ident: string, type: string, many = false): Record<string, unknown> => ({
  'db/ident': kw(ident),
  'db/valueType': kw(`db.type/${type}`),
  'db/cardinality': kw(`db.cardinality/${many ? 'many' : 'one'}`),
});

const schema = [
  attribute('person/name', 'string'), attribute('person/email', 'string'), attribute('person/age', 'long'),
  attribute('item/sku', 'string'), attribute('item/price', 'double'),
  attribute('order/customer', 'ref'), attribute('order/items', 'ref', true), attribute('order/total', 'double'),
];

/** One transaction of 500 entities: a mix of people, items and orders referring to earlier ones. */
function batch(random: () => number, people: number[], items: number[]): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < 500; i++) {
    const roll = random();
    if (roll < 0.3 || people.length === 0) {
      out.push({ 'db/id': `e${i}`, 'person/name': `Person ${Math.floor(random() * 1e6)}`, 'person/email': `p${Math.floor(random() * 1e9)}@example.com`, 'person/age': Math.floor(random() * 90) });
    } else if (roll < 0.5 || items.length === 0) {
      out.push({ 'db/id': `e${i}`, 'item/sku': `SKU-${Math.floor(random() * 1e7)}`, 'item/price': Math.round(random() * 10000) / 100 });
    } else {
      const lines = Array.from({ length: 1 + Math.floor(random() * 4) }, () => items[Math.floor(random() * items.length)]!);
      out.push({ 'db/id': `e${i}`, 'order/customer': people[Math.floor(random() * people.length)]!, 'order/items': [...new Set(lines)], 'order/total': Math.round(random() * 100000) / 100 });
    }
  }
  return out;
}

interface Built {
  readonly directory: string;
  readonly datoms: number;
  readonly importMs: number;
  readonly indexMs: number;
  readonly rssPeakBytes: number;
  readonly index10kMs: number;
  readonly index10kSegments: number;
  readonly personE: number;
  readonly ageA: number;
}

function rssMb(bytes: number): string {
  return `${Math.round(bytes / 1024 / 1024)} MiB`;
}

async function build(target: number): Promise<Built> {
  const directory = await mkdtemp(join(tmpdir(), 'factum-bench-durable-'));
  const storage = IN_MEMORY ? createMemoryStorage() : await openLocalStorage(join(directory, 'storage'));
  const indexer = await Indexer.open(storage, DATABASE, { cacheDirectory: IN_MEMORY ? undefined : join(directory, 'cache'), cacheBytesMax: CACHE_BYTES });
  const random = seededRandom(7);
  let db: Db = emptyDb().with(schema).dbAfter;
  let novelty: LoggedTransaction[] = [bootstrapTransaction(), { t: db.basisT, datoms: [] }];
  let noveltyDatoms = 0;
  const people: number[] = [];
  const items: number[] = [];
  let datoms = 0;
  let indexMs = 0;
  let rssPeakBytes = 0;
  let position = 1;
  const indexNow = async (): Promise<{ ms: number; segments: number }> => {
    const start = performance.now();
    const outcome = await indexer.index(indexInputOf(db, novelty, position));
    if (outcome.kind !== 'indexed') throw new Error('lost the root');
    novelty = [];
    noveltyDatoms = 0;
    return { ms: performance.now() - start, segments: outcome.segmentsWritten };
  };
  const transact = (): void => {
    const report = db.with(batch(random, people, items));
    db = report.dbAfter;
    position++;
    novelty.push({ t: db.basisT, datoms: report.txData });
    noveltyDatoms += report.txData.length;
    datoms += report.txData.length;
    for (const id of Object.values(report.tempids)) {
      const first = report.txData.find((d) => d.e === id);
      if (first?.a === db.attribute(kw('person/name'))?.id) people.push(id);
      else if (first?.a === db.attribute(kw('item/sku'))?.id) items.push(id);
    }
  };
  const start = performance.now();
  while (datoms < target) {
    transact();
    if (noveltyDatoms >= NOVELTY_MAX) indexMs += (await indexNow()).ms;
    rssPeakBytes = Math.max(rssPeakBytes, process.memoryUsage().rss);
  }
  indexMs += (await indexNow()).ms;
  const importMs = performance.now() - start;
  const imported = datoms;
  // 10k new datoms, indexed alone.
  const before = datoms;
  while (datoms - before < 10_000) transact();
  const tenK = await indexNow();
  await storage.close();
  const personE = people[Math.floor(people.length / 2)]!;
  return { directory, datoms: imported, importMs, indexMs, rssPeakBytes, index10kMs: tenK.ms, index10kSegments: tenK.segments, personE, ageA: db.attribute(kw('person/age'))!.id };
}

function formatStats(stats: IoStats): string {
  return ['memory', 'directory', 'storage']
    .filter((level) => stats[level] !== undefined)
    .map((level) => `${level} ${stats[level]!.hits} hit/${stats[level]!.misses} miss`)
    .join(', ');
}

async function timed(indexer: Indexer, index: IndexName, components: unknown[], limit: number): Promise<{ ms: number; rows: number; stats: IoStats }> {
  const context = new IoContext();
  const start = performance.now();
  let rows = 0;
  for await (const _ of indexer.datoms(index, 'current', components, context) as AsyncIterable<Datom>) if (++rows >= limit) break;
  return { ms: performance.now() - start, rows, stats: context.snapshot() };
}

/** The child process: open from the root, answer a query, then measure cold and warm reads. */
async function query(directory: string, personE: number, ageA: number): Promise<void> {
  const storage = await openLocalStorage(join(directory, 'storage'));
  const opened = await Indexer.open(storage, DATABASE, { cacheDirectory: join(directory, 'cache'), cacheBytesMax: CACHE_BYTES });
  await timed(opened, 'eavt', [personE], Infinity);
  const openMs = performance.now(); // since process start
  // Cold: a fresh memory cache and no directory level, so every segment comes from storage.
  const cold = await Indexer.open(storage, DATABASE, { cacheBytesMax: CACHE_BYTES });
  cold.nodes.clear();
  const lines: string[] = [`  open → first answered query (from process start): ${openMs.toFixed(0)} ms`];
  const cases: Array<[string, IndexName, unknown[], number]> = [
    ['point lookup  eavt [e]       ', 'eavt', [personE], Infinity],
    ['1,000-row range avet [age]   ', 'avet', [ageA], 1000],
  ];
  for (const [name, index, components, limit] of cases) {
    cold.nodes.clear();
    const first = await timed(cold, index, components, limit);
    const warm = await timed(cold, index, components, limit);
    lines.push(`  ${name} cold ${first.ms.toFixed(2)} ms (${first.rows} rows; ${formatStats(first.stats)})`);
    lines.push(`  ${name} warm ${warm.ms.toFixed(3)} ms (${formatStats(warm.stats)})`);
  }
  lines.push(`  tree heights: eavt ${cold.trees.eavt.current.height + 1} levels, avet ${cold.trees.avet.current.height + 1} levels`);
  lines.push(`  RSS after queries: ${rssMb(process.memoryUsage().rss)}`);
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
    console.log(`  import with indexing: ${(built.importMs / 1000).toFixed(1)} s, ${Math.round(rate).toLocaleString('en')} datoms/s (indexing ${(built.indexMs / 1000).toFixed(1)} s of it)`);
    console.log(`  peak RSS during import: ${rssMb(built.rssPeakBytes)}`);
    console.log(`  index 10k new datoms: ${built.index10kMs.toFixed(0)} ms, ${built.index10kSegments} segments written`);
    if (IN_MEMORY) continue;
    const child = spawnSync(process.execPath, [...process.execArgv, self, '--query', built.directory, String(built.personE), String(built.ageA)], { stdio: 'inherit' });
    if (child.status !== 0) process.exitCode = child.status ?? 1;
    await rm(built.directory, { recursive: true, force: true });
  }
  if (results.length >= 2) {
    const [small, large] = [results[0]!, results[results.length - 1]!];
    console.log(`\nindex 10k datoms: ${small.built.index10kMs.toFixed(0)} ms into ${small.size.toLocaleString('en')} vs ${large.built.index10kMs.toFixed(0)} ms into ${large.size.toLocaleString('en')} (ratio ${(large.built.index10kMs / small.built.index10kMs).toFixed(2)})`);
  }
}

if (process.argv[2] === '--query') await query(process.argv[3]!, Number(process.argv[4]), Number(process.argv[5]));
else await main();
