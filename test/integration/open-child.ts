// Child process of end-to-end.test.ts: a "node" that has only the table and bucket (the storage
// configuration) and its cache directories (SSD and EFS levels). It opens the system, and prints
// the same summary the parent computed, plus the segment reads per cache level.
import { createAwsStorage } from '../../nodes/storage/aws/index.ts';
import { System } from '../../nodes/transactor/system.ts';
import { processIoStats } from '../../nodes/cache/io-stats.ts';
import { readDb } from '../../nodes/db/durable-base.ts';
import { summarize } from './summary.ts';

const caches = JSON.parse(process.env.FACTUM_TEST_CACHES!) as { cacheDirectory: string; efsCacheDirectory: string };
const system = new System(createAwsStorage(JSON.parse(process.env.FACTUM_TEST_CONFIG!)), { indexing: caches });
const transactor = await system.connect('shop');
const db = transactor.db();
const summary = await readDb(db.state.base, () => summarize(db));
const log: number[] = [];
for await (const entry of transactor.txRange(1)) log.push(entry.t);
console.log(JSON.stringify({ summary, log, fromRoot: db.state.base !== null, io: processIoStats.snapshot() }));
await system.close();
