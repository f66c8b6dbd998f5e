// Kill -9 a process while it transacts and indexes in the background (segments being written,
// roots being swapped), at seeded random moments; reopen from the root and the log after it and
// check that every acknowledged transaction is there and that the database equals the one the
// whole log replays to in memory. Repeated on one directory, so each round also recovers from the
// previous one's abandoned index run. Odd rounds index in the index worker (a worker thread).
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLocalStorage } from '../../nodes/storage/local/local-storage.ts';
import { Transactor } from '../../nodes/transactor/transactor.ts';
import { readDb } from '../../nodes/db/durable-base.ts';
import type { Db } from '../../nodes/db/db.ts';
import { seededRandom } from '../../nodes/util/random.ts';
import { indexes, project } from '../durable/workload.ts';

const rounds = 6;
let workDirectory: string;
let childScript: string;

beforeAll(async () => {
  workDirectory = await mkdtemp(path.join(os.tmpdir(), 'factum-index-crash-'));
  childScript = path.join(workDirectory, 'index-child.mjs');
  const options = { bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'silent' } as const;
  await build({ ...options, entryPoints: [path.join(import.meta.dirname, 'index-child.ts')], outfile: childScript });
  // The bundled indexer starts its worker from a file beside the bundle.
  await build({ ...options, entryPoints: [path.join(import.meta.dirname, '../../nodes/indexer/index-worker.ts')], outfile: path.join(workDirectory, 'index-worker.mjs') });
});

afterAll(async () => {
  await rm(workDirectory, { recursive: true, force: true });
});

/** Runs the child until it acknowledged `acks` more transactions (plus a short wait), kills it, and returns the highest t acknowledged. */
async function runAndKill(directory: string, seed: number, worker: boolean, acks: number, extraWaitMs: number): Promise<number> {
  const child = spawn(process.execPath, [childScript, directory, String(seed), String(worker)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
  let highest = 0;
  let seen = 0;
  for await (const line of createInterface({ input: child.stdout })) {
    highest = Math.max(highest, Number(line.split(' ')[1]));
    if (++seen === acks) setTimeout(() => child.kill('SIGKILL'), extraWaitMs);
  }
  clearTimeout(guard);
  await exited;
  if (seen < acks) throw new Error(`the child stopped after ${seen} acknowledgements: ${stderr}`);
  return highest;
}

async function everything(db: Db): Promise<unknown> {
  const out: Record<string, unknown> = {};
  for (const view of [db, db.history()]) {
    for (const index of indexes) out[`${view.isHistory} ${index}`] = await readDb(view.state.base, () => [...view.datoms(index)].map(project));
  }
  return out;
}

describe('indexing under kill -9', () => {
  it(`loses no acknowledged transaction and opens to the log's database over ${rounds} seeded kills`, async () => {
    const directory = path.join(workDirectory, 'db');
    const random = seededRandom(11);
    let acknowledged = 0;
    let previousRootT = -1;
    const movedIn = new Set<string>();
    for (let round = 0; round < rounds; round++) {
      // A worker round runs longer: its worker has to start before the first run can end.
      const worker = round % 2 === 1;
      acknowledged = Math.max(acknowledged, await runAndKill(directory, 100 + round, worker, 40 + Math.floor(random() * 120) + (worker ? 200 : 0), Math.floor(random() * 30)));
      const storage = await openLocalStorage(directory);
      try {
        const reopened = await Transactor.open(storage, 'db');
        const replayed = await Transactor.open(storage, 'db', { indexing: false });
        expect(reopened.db().basisT).toBeGreaterThanOrEqual(acknowledged);
        expect(reopened.db().basisT).toBe(replayed.db().basisT);
        expect(await everything(reopened.db())).toEqual(await everything(replayed.db()));
        const rootT = reopened.indexing!.indexer.root?.t ?? -1;
        expect(rootT).toBeGreaterThanOrEqual(previousRootT);
        if (rootT > previousRootT) movedIn.add(round % 2 === 1 ? 'worker' : 'thread');
        previousRootT = rootT;
        await reopened.close();
        await replayed.close();
      } finally {
        await storage.close();
      }
    }
    // Roots moved in rounds of both kinds (a short round may end before its first run does).
    expect([...movedIn].sort()).toEqual(['thread', 'worker']);
  }, 120_000);
});
