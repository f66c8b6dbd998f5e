// Durable commit throughput on the local backend (fsync on), 5-datom transactions, with 1 and 16
// concurrent submitters. The peer is the floor under any durable database on this disk: a raw
// append of the same number of bytes followed by fsync, from the same submitters, one fsync per
// write (no group commit). Run: npm run bench -- bench/commit.bench.ts
import { open, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openLocalStorage } from '../nodes/storage/local/local-storage.ts';
import { commitRate, type CommitRate } from './commit-workload.ts';

const durationMs = Number(process.env.BENCH_MS ?? 3000);

async function factumRate(submitters: number): Promise<CommitRate> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'factum-commit-'));
  try {
    return await commitRate(await openLocalStorage(dir), submitters, durationMs);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function rawRate(submitters: number, bytes: number): Promise<number> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'factum-raw-'));
  const file = await open(path.join(dir, 'log'), 'a');
  const payload = Buffer.alloc(bytes, 7);
  let done = 0;
  const deadline = performance.now() + durationMs;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: submitters }, async () => {
      while (performance.now() < deadline) {
        await file.write(payload);
        await file.sync();
        done++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await file.close();
  await rm(dir, { recursive: true, force: true });
  return done / seconds;
}

console.log(`durable commit, local backend, 5-datom transactions, ${durationMs} ms per run`);
console.log('submitters  raw append+fsync/s  factum tx/s  ratio (factum/raw)  log writes  tx per log write');
for (const submitters of [1, 16]) {
  const raw = await rawRate(submitters, 200);
  const factum = await factumRate(submitters);
  console.log(
    `${String(submitters).padStart(10)}  ${raw.toFixed(0).padStart(19)}  ${factum.perSecond.toFixed(0).padStart(11)}  ${(factum.perSecond / raw).toFixed(2).padStart(18)}  ${String(factum.logWrites).padStart(10)}  ${(factum.transactions / factum.logWrites).toFixed(1).padStart(16)}`,
  );
}
