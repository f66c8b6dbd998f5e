// Kill -9 a process committing transactions with idempotency keys (8 concurrent submitters, group
// commit and index runs in play) at seeded random moments; reopen the database and retry every
// key it submitted, as clients that lost their answers would: a key the child saw acknowledged
// resolves to the t it was acknowledged with, and no key is ever in the log twice.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../nodes/storage/fault.ts';
import { openLocalStorage } from '../../nodes/storage/local/local-storage.ts';
import type { Storage } from '../../nodes/storage/protocol.ts';
import { decodeLogEntry } from '../../nodes/transactor/log-record.ts';
import { System } from '../../nodes/transactor/system.ts';
import { indexing, txDataOf } from './idempotent-transact-child.ts';

let work: string;
let child: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'factum-idempotent-crash-'));
  child = path.join(work, 'idempotent-transact-child.mjs');
  await build({ entryPoints: [path.join(import.meta.dirname, 'idempotent-transact-child.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: child, logLevel: 'silent' });
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Runs the child until it has `acksBeforeKill` acknowledgements, then kills it `extraWaitMs` later. */
async function runAndKill(directory: string, round: number, submitted: Set<string>, acknowledged: Map<string, number>, acksBeforeKill: number, extraWaitMs: number): Promise<void> {
  const process_ = spawn(process.execPath, [child, directory, String(round), '8'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => process_.on('exit', resolve));
  let stderr = '';
  process_.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const guard = setTimeout(() => process_.kill('SIGKILL'), 20_000);
  let acks = 0;
  for await (const line of createInterface({ input: process_.stdout })) {
    const [word, key, t] = line.split(' ');
    if (word === 'submit') submitted.add(key!);
    if (word === 'ack') {
      acknowledged.set(key!, Number(t));
      if (++acks === acksBeforeKill) setTimeout(() => process_.kill('SIGKILL'), extraWaitMs);
    }
  }
  clearTimeout(guard);
  await exited;
  expect(stderr).toBe('');
}

/** How many times each key is in the log of database `crash`. */
async function keysInLog(storage: Storage): Promise<Map<string, number[]>> {
  const catalog = JSON.parse(new TextDecoder().decode((await storage.getRecord('catalog'))!.bytes)) as { databases: Array<{ name: string; id: string }> };
  const log = `db-${catalog.databases.find((d) => d.name === 'crash')!.id}`;
  const keys = new Map<string, number[]>();
  for await (const entry of storage.readLog(log, 0)) {
    for (const logged of decodeLogEntry(entry.bytes, entry.position)) {
      if (logged.idempotencyKey !== undefined) keys.set(logged.idempotencyKey, [...(keys.get(logged.idempotencyKey) ?? []), logged.t]);
    }
  }
  return keys;
}

describe('idempotency keys survive kill -9', () => {
  it('answers every retried key with its one transaction, at the acknowledged t', async () => {
    const random = seededRandom(2027);
    const directory = path.join(work, 'db');
    const acknowledged = new Map<string, number>();
    const answered = new Map<string, number>();
    let duplicates = 0;
    for (let round = 0; round < 6; round++) {
      const submitted = new Set<string>();
      await runAndKill(directory, round, submitted, acknowledged, 20 + Math.floor(random() * 80), Math.floor(random() * 15));
      const system = new System(await openLocalStorage(directory), { indexing });
      const transactor = await system.connect('crash');
      // Every key of this round is retried (acknowledged or not), and those of earlier rounds again.
      const retried = [...submitted, ...answered.keys()];
      const results = await Promise.all(retried.map((key) => transactor.transact(txDataOf(key), { idempotencyKey: key })));
      retried.forEach((key, i) => {
        const result = results[i]!;
        if (acknowledged.has(key)) expect(result.duplicate, `acknowledged ${key} applied again in round ${round}`).toBe(true);
        if (acknowledged.has(key)) expect(result.t, `acknowledged ${key}`).toBe(acknowledged.get(key));
        if (answered.has(key)) expect(result.t, `${key} answered before`).toBe(answered.get(key));
        if (result.duplicate) duplicates++;
        answered.set(key, result.t);
      });
      await transactor.indexNow(); // later rounds find these keys before the index root
      await system.close();
      const storage = await openLocalStorage(directory);
      const inLog = await keysInLog(storage);
      await storage.close();
      for (const [key, ts] of inLog) expect(ts, `${key} in the log more than once`).toHaveLength(1);
      for (const [key, t] of answered) expect(inLog.get(key), `${key}`).toEqual([t]);
    }
    expect(acknowledged.size).toBeGreaterThan(100);
    expect(duplicates).toBeGreaterThan(acknowledged.size);
  }, 120_000);
});
