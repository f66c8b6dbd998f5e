// End to end on the AWS backend: create a database, transact (concurrently, so group commit is in
// play), read the past and the log; then open the same system from a second process that has only
// the table and bucket names, and check it sees exactly the same database.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { createAwsStorage } from '../../nodes/storage/aws/index.ts';
import { System } from '../../nodes/transactor/system.ts';
import { kw } from '../../nodes/values/values.ts';
import { integrationConfig, removePrefix } from './aws-environment.ts';

const config = integrationConfig();
afterAll(() => removePrefix(config));

function summary(system: System): Promise<string> {
  return system.connect('shop').then((t) => {
    const db = t.db();
    const skus = [...db.datoms('avet', kw('item/sku'))].map((d) => `${d.v}@${d.tx}`);
    const past = [...db.asOf(2).datoms('avet', kw('item/sku'))].map((d) => d.v);
    return JSON.stringify({ basisT: db.basisT, skus, past, datoms: db.stats().datoms });
  });
}

describe('a database on DynamoDB and S3', () => {
  it('is the same database when a second process opens it', async () => {
    const system = new System(createAwsStorage(config));
    expect(await system.createDatabase('shop')).toBe(true);
    const transactor = await system.connect('shop');
    await transactor.transact([{ 'db/ident': kw('item/sku'), 'db/valueType': kw('db.type/string'), 'db/cardinality': kw('db.cardinality/one'), 'db/unique': kw('db.unique/identity') }]);
    await transactor.transact([{ 'item/sku': 'first' }]);
    await Promise.all(Array.from({ length: 24 }, (_, i) => transactor.transact([{ 'item/sku': `S${i}` }])));
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
      const output = await new Promise<string>((resolve, reject) => {
        const process_ = spawn(process.execPath, [child], { env: { ...process.env, FACTUM_TEST_CONFIG: JSON.stringify(config) }, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        process_.stdout.on('data', (c: Buffer) => (out += c.toString()));
        process_.stderr.on('data', (c: Buffer) => (err += c.toString()));
        process_.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`child failed (${code}): ${err}`))));
      });
      expect(output).toBe(here);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});

