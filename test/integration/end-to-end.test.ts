// End to end on the AWS backend: create a database, transact (concurrently, so group commit is in
// play), index it into S3, transact more, read the past and the log; then open the same system
// from a second process that has only the table and bucket names and its cache directories, and
// check it sees exactly the same database, read from S3 through an empty EFS level; a third
// process with a fresh SSD level and the same EFS level reads every segment from EFS.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { createAwsStorage } from '../../nodes/storage/aws/index.ts';
import { System } from '../../nodes/transactor/system.ts';
import { kw } from '../../nodes/values/values.ts';
import { readDb } from '../../nodes/db/durable-base.ts';
import { integrationConfig, removePrefix } from './aws-environment.ts';
import { summarize } from './summary.ts';

const config = integrationConfig();
afterAll(() => removePrefix(config));

async function summary(system: System): Promise<string> {
  const db = (await system.connect('shop')).db();
  return readDb(db.state.base, () => summarize(db));
}

interface ChildReport {
  readonly summary: string;
  readonly log: number[];
  readonly fromRoot: boolean;
  readonly io: Record<string, { hits: number; misses: number }>;
}

describe('a database on DynamoDB and S3', () => {
  it('is the same database when a second process opens it', async () => {
    const system = new System(createAwsStorage(config), { indexing: { noveltyBytesMax: 1_000, backPressureBytes: 1_000_000_000 } });
    expect(await system.createDatabase('shop')).toBe(true);
    const transactor = await system.connect('shop');
    await transactor.transact([{ 'db/ident': kw('item/sku'), 'db/valueType': kw('db.type/string'), 'db/cardinality': kw('db.cardinality/one'), 'db/unique': kw('db.unique/identity') }]);
    await transactor.transact([{ 'item/sku': 'first' }]);
    await Promise.all(Array.from({ length: 24 }, (_, i) => transactor.transact([{ 'item/sku': `S${i}` }])));
    await transactor.indexNow(); // the root covers all so far; what follows is novelty in the log
    expect(transactor.db().state.base).not.toBeNull();
    await Promise.all(Array.from({ length: 6 }, (_, i) => transactor.transact([{ 'item/sku': `N${i}` }])));
    const log: number[] = [];
    for await (const entry of transactor.txRange(1)) log.push(entry.t);
    expect(log).toEqual(Array.from({ length: transactor.db().basisT }, (_, i) => i + 1));
    const here = await summary(system);
    expect(JSON.parse(here).past).toEqual(['first']);
    await system.close();

    // Inside node_modules, so that the child resolves the AWS SDK as the project does.
    await mkdir(path.join(process.cwd(), 'node_modules', '.factum-test'), { recursive: true });
    const work = await mkdtemp(path.join(process.cwd(), 'node_modules', '.factum-test', 'e2e-'));
    try {
      const child = path.join(work, 'open-child.mjs');
      await build({ entryPoints: [path.join(import.meta.dirname, 'open-child.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: child, logLevel: 'silent', external: ['@aws-sdk/*'] });
      const open = (ssd: string): Promise<ChildReport> =>
        new Promise<ChildReport>((resolve, reject) => {
          const caches = { cacheDirectory: path.join(work, ssd), efsCacheDirectory: path.join(work, 'efs') };
          const env = { ...process.env, FACTUM_TEST_CONFIG: JSON.stringify(config), FACTUM_TEST_CACHES: JSON.stringify(caches) };
          const process_ = spawn(process.execPath, [child], { env, stdio: ['ignore', 'pipe', 'pipe'] });
          let out = '';
          let err = '';
          process_.stdout.on('data', (c: Buffer) => (out += c.toString()));
          process_.stderr.on('data', (c: Buffer) => (err += c.toString()));
          process_.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim()) as ChildReport) : reject(new Error(`child failed (${code}): ${err}`))));
        });
      const first = await open('ssd-1');
      expect(first.summary).toBe(here);
      expect(first.fromRoot).toBe(true);
      expect(first.log).toEqual(log);
      expect(first.io.storage!.hits).toBeGreaterThan(0); // an empty EFS level: segments from S3
      expect(first.io.efs!.misses).toBe(first.io.storage!.hits);
      const second = await open('ssd-2');
      expect(second.summary).toBe(here);
      expect(second.io.efs!.hits).toBeGreaterThan(0); // a fresh SSD level over a warm EFS level
      expect(second.io.storage?.hits ?? 0).toBe(0);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});

