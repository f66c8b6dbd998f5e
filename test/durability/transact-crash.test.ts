// Kill -9 a process that is committing transactions (8 concurrent submitters, so group commit
// is in play) at seeded random moments; reopen the database and check that every acknowledged
// transaction is there and that no partial transaction is visible.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../nodes/storage/fault.ts';
import { openLocalStorage } from '../../nodes/storage/local/local-storage.ts';
import { System } from '../../nodes/transactor/system.ts';
import { kw } from '../../nodes/values/values.ts';

let work: string;
let child: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'factum-transact-crash-'));
  child = path.join(work, 'transact-child.mjs');
  await build({ entryPoints: [path.join(import.meta.dirname, 'transact-child.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: child, logLevel: 'silent' });
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function runAndKill(directory: string, round: number, acknowledged: Set<string>, acksBeforeKill: number, extraWaitMs: number): Promise<void> {
  const process_ = spawn(process.execPath, [child, directory, String(round), '8'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => process_.on('exit', resolve));
  let stderr = '';
  process_.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const guard = setTimeout(() => process_.kill('SIGKILL'), 20_000);
  let acks = 0;
  for await (const line of createInterface({ input: process_.stdout })) {
    if (line.startsWith('ack ')) {
      acknowledged.add(line.slice(4));
      if (++acks === acksBeforeKill) setTimeout(() => process_.kill('SIGKILL'), extraWaitMs);
    }
  }
  clearTimeout(guard);
  await exited;
  expect(stderr).toBe('');
}

describe('committing transactions survives kill -9', () => {
  it('loses no acknowledged transaction and shows no partial one', async () => {
    const random = seededRandom(2026);
    const directory = path.join(work, 'db');
    const acknowledged = new Set<string>();
    for (let round = 0; round < 8; round++) {
      await runAndKill(directory, round, acknowledged, 5 + Math.floor(random() * 60), Math.floor(random() * 15));
      const system = new System(await openLocalStorage(directory));
      const db = (await system.connect('crash')).db();
      const skus = new Set([...db.datoms('avet', kw('item/sku'))].map((d) => d.v as string));
      for (const sku of acknowledged) expect(skus.has(sku), `acknowledged ${sku} lost in round ${round}`).toBe(true);
      // Each transaction wrote its sku and the same text as :db/doc on the transaction: both or neither.
      const docs = new Set([...db.datoms('aevt', kw('db/doc'))].map((d) => d.v as string));
      for (const sku of skus) expect(docs.has(sku), `partial transaction for ${sku}`).toBe(true);
      await system.close();
    }
    expect(acknowledged.size).toBeGreaterThan(40);
  });
});
