// The node bundle as a node runs it: built into a directory, `node main.mjs` started with an empty
// environment must load every module and stop on its configuration (not on a missing module or a
// require() the ES module bundle cannot serve), and the index and query workers must load as
// worker threads.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode } from '../../client/wire/codec.ts';
import { encodeRequest, type FromQueryWorker, type QueryWorkerSettings, type ToQueryWorker } from '../../nodes/server/query-protocol.ts';
import { createMemoryStorage } from '../../nodes/storage/memory/memory-storage.ts';
import { serveStorage } from '../../nodes/storage/proxy/serve-storage.ts';
import { Transactor } from '../../nodes/transactor/transactor.ts';
import { kw } from '../../nodes/values/values.ts';
import { bundleEntryFile, bundleIonWorkerFile, bundleNode, bundleQueryWorkerFile, bundleWorkerFile } from './node-bundle.ts';

/** What a bundle that does not load prints, as opposed to a node that refuses its configuration. */
const moduleLoadingFailure = /ERR_MODULE_NOT_FOUND|Cannot find (module|package)|Dynamic require of|SyntaxError|is not defined|ERR_REQUIRE_ESM|ERR_UNKNOWN_FILE_EXTENSION/;
const repositoryDirectory = fileURLToPath(new URL('../..', import.meta.url));

let first: string;
let second: string;

beforeAll(() => {
  first = mkdtempSync(join(tmpdir(), 'factum-bundle-'));
  second = mkdtempSync(join(tmpdir(), 'factum-bundle-'));
  bundleNode(first);
  bundleNode(second);
});
afterAll(() => {
  for (const directory of [first, second]) rmSync(directory, { recursive: true, force: true });
});

describe('node bundle', () => {
  it('holds the node and its index, query and ion workers, and nothing else', () => {
    expect(readdirSync(first).sort()).toEqual([bundleWorkerFile, bundleQueryWorkerFile, bundleIonWorkerFile, bundleEntryFile].sort());
  });

  it('is reproducible: the same code gives the same bytes, with no absolute path in them', () => {
    for (const file of [bundleEntryFile, bundleWorkerFile, bundleQueryWorkerFile, bundleIonWorkerFile]) {
      const bytes = readFileSync(join(first, file));
      expect(bytes.equals(readFileSync(join(second, file)))).toBe(true);
      expect(bytes.toString('utf8')).not.toContain(repositoryDirectory);
      expect(bytes.toString('utf8')).not.toContain(first);
    }
  });

  it('starts with an empty environment and stops on its configuration, not on loading a module', () => {
    const result = spawnSync(process.execPath, [join(first, bundleEntryFile)], { cwd: first, env: {}, encoding: 'utf8', timeout: 30_000 });
    const output = `${result.stdout}${result.stderr}`;
    expect(output).not.toMatch(moduleLoadingFailure);
    expect(result.status).not.toBe(0);
    expect(result.status).not.toBeNull();
    expect(output).toMatch(/FACTUM_[A-Z_]+/);
  });

  it('starts the index worker as a worker thread', async () => {
    await expectStarts(new Worker(join(first, bundleWorkerFile), { workerData: { cacheBytesMax: 1024 * 1024 }, stderr: true, stdout: true }));
  });

  it('starts the query worker as a worker thread, which answers a query', async () => {
    const storage = createMemoryStorage();
    const transactor = await Transactor.open(storage, 'db-1');
    await transactor.transact([{ 'db/ident': kw('n'), 'db/valueType': kw('db.type/long'), 'db/cardinality': kw('db.cardinality/one') }]);
    await transactor.transact([{ n: 41 }, { n: 1 }]);
    const { port1, port2 } = new MessageChannel();
    serveStorage(port1, storage);
    const workerData: QueryWorkerSettings = { storagePort: port2, storageKind: 'memory', directReads: null, indexing: { cacheBytesMax: 1024 * 1024 }, sharedSecret: null, refreshRootMs: 5000, engine: new SharedArrayBuffer(16) };
    const worker = new Worker(join(first, bundleQueryWorkerFile), { workerData, transferList: [port2], stderr: true, stdout: true });
    let output = '';
    worker.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const ref = { database: 'a', basisT: transactor.db().basisT };
    const request = encodeRequest({ query: '[:find (sum ?n) . :where [_ :n ?n]]', args: [ref], dbs: [{ position: 0, ref, log: 'db-1' }], timeoutMs: 10_000, offset: null, limit: null, stream: false });
    const answered = new Promise<FromQueryWorker>((resolve) => worker.once('message', resolve));
    worker.postMessage({ kind: 'query', id: 1, request } satisfies ToQueryWorker);
    const message = await answered;
    expect(message.kind === 'answered' && message.answer.kind === 'value' ? decode(message.answer.message) : message).toBe(42);
    await worker.terminate();
    expect(output).not.toMatch(moduleLoadingFailure);
    port1.close();
    await transactor.close();
  });
});

/** The worker comes online and its modules load without throwing; then it is stopped. */
async function expectStarts(worker: Worker): Promise<void> {
  let output = '';
  worker.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const failure = new Promise<Error>((resolve) => worker.once('error', resolve));
  await new Promise<void>((resolve) => worker.once('online', resolve));
  // Online means its modules are being evaluated; give them time to throw if they would.
  const outcome = await Promise.race([failure, new Promise<null>((resolve) => setTimeout(() => resolve(null), 500))]);
  await worker.terminate();
  expect(outcome).toBeNull();
  expect(output).not.toMatch(moduleLoadingFailure);
}
