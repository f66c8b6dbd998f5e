// Overload: a node admits at most FACTUM_READS_MAX reads at once and FACTUM_QUEUE_MAX waiting;
// past that it refuses at once with 429 server/busy (category busy), which the remote client
// retries with backoff. Queries are interrupted past their timeout, which FACTUM_QUERY_TIMEOUT_MS
// caps; they compute on query threads, so the node answers /health and other requests meanwhile,
// and a thread stuck past a query's timeout is replaced.
//
// In-process nodes (startNode): admission and timeouts are the same whether the node is this
// process or another. The slow reads that hold the read places are syncs to a basis t the
// database has not reached: they wait without end, so which requests are refused depends on
// counts alone, never on how fast the machine is; a transaction (a write, admitted separately)
// releases them.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { get } from 'node:http';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client, type Connection } from '../../client/index.ts';
import { readNodeSettings, startNode, type RunningNode } from '../../nodes/main.ts';
import { basisTOf, call, readKeyFile, valueOf, wireErrorOf, type KeyFile, type RawResponse, type Target } from './signed-fetch.ts';

const readsMax = 1;
const queueMax = 2;
/** Entities with :n; the queries below pair every two of them (a million pairs: seconds of work). */
const entities = 1000;
/** [?a :n ?x] × [?b :n ?y] with a predicate: the engine cannot skip the product. */
const productQuery = '[:find (count ?a) :where [?a :n ?x] [?b :n ?y] [(< ?x ?y)]]';

interface TestNode {
  readonly dir: string;
  readonly node: RunningNode;
  readonly target: Target;
  readonly admin: KeyFile;
  readonly client: Client;
  readonly conn: Connection;
  /** Log lines so far; waiters for a text. */
  readonly logged: (text: string) => Promise<void>;
}

async function startTestNode(settings: Record<string, string>, entityCount: number): Promise<TestNode> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'factum-overload-'));
  const waiters: Array<{ text: string; resolve: () => void }> = [];
  const output = new PassThrough();
  output.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    for (const waiter of waiters) if (text.includes(waiter.text)) waiter.resolve();
  });
  const node = await startNode(readNodeSettings({ FACTUM_STORAGE: 'local', FACTUM_DATA_DIR: dir, FACTUM_PORT: '0', FACTUM_HOST: '127.0.0.1', FACTUM_SYSTEM: 'local', FACTUM_ROLE: 'primary', ...settings }), output);
  // Busy answers are retried until the burst is released: many attempts, short waits.
  const client = createClient({ endpoint: node.endpoint, system: 'local', keyFile: node.keyFile!, retry: { attemptsMax: 10_000, backoffBaseMs: 5, backoffMaxMs: 50 } });
  await client.createDatabase('a');
  const conn = await client.connect('a');
  await conn.transact('[{:db/ident :n :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]');
  if (entityCount > 0) await conn.transact(Array.from({ length: entityCount }, (_, n) => ({ n })));
  return {
    dir,
    node,
    target: { endpoint: node.endpoint, system: 'local' },
    admin: readKeyFile(node.keyFile!),
    client,
    conn,
    logged: (text) => new Promise((resolve) => waiters.push({ text, resolve })),
  };
}

async function stopTestNode(test: TestNode | undefined): Promise<void> {
  if (test === undefined) return;
  await test.client.close();
  await test.node.stop();
  await rm(test.dir, { recursive: true, force: true });
}

let busy: TestNode;
/** A node whose queries may run at most 50 ms. */
let capped: TestNode;

beforeAll(async () => {
  busy = await startTestNode({ FACTUM_READS_MAX: String(readsMax), FACTUM_QUEUE_MAX: String(queueMax) }, entities);
  capped = await startTestNode({ FACTUM_QUERY_TIMEOUT_MS: '50' }, entities);
});

afterAll(async () => {
  await stopTestNode(busy);
  await stopTestNode(capped);
});

function dbAt(basisT: number): { database: string; basisT: number } {
  return { database: 'a', basisT };
}

describe('overload: reads past READS_MAX + QUEUE_MAX', () => {
  it('refuses the rest at once with 429 server/busy, serves writes meanwhile, then answers the admitted reads', async () => {
    const burst = 10;
    const t = (await basisTOf(busy.target, busy.admin, 'a')) + 1;
    const answered: RawResponse[] = [];
    const requests = Array.from({ length: burst }, () =>
      call(busy.target, busy.admin, 'sync', { database: 'a', t, timeout: 60_000 }).then((response) => {
        answered.push(response);
        return response;
      }),
    );
    // The refusals come while the admitted reads still wait: a refused request waits for nothing.
    const refusedCount = burst - readsMax - queueMax;
    await waitUntil(() => answered.length >= refusedCount, requests);
    expect(answered.length).toBe(refusedCount);
    for (const response of answered) {
      const error = wireErrorOf(response);
      expect({ status: response.status, code: error.code, category: error.category, retryAfter: response.headers['retry-after'] }).toEqual({ status: 429, code: 'server/busy', category: 'busy', retryAfter: '1' });
      expect(error.data).toMatchObject({ kind: 'read', running: readsMax, waiting: queueMax });
    }
    // Writes have their own places: a transaction goes through, and reaches t.
    const report = await busy.conn.transact([{ n: -1 }]);
    expect(report.dbAfter.basisT).toBe(t);
    const all = await Promise.all(requests);
    const admitted = all.filter((response) => response.status === 200);
    expect(admitted.length).toBe(readsMax + queueMax);
    for (const response of admitted) expect((valueOf(response) as { basisT: number }).basisT).toBeGreaterThanOrEqual(t);
  });

  it('the remote client retries busy answers with backoff: the same burst all succeeds', async () => {
    const burst = 10;
    const t = (await basisTOf(busy.target, busy.admin, 'a')) + 1;
    const refused = busy.logged('server/busy');
    const syncs = Array.from({ length: burst }, () => busy.conn.sync(t));
    // Release the reads only once the node has refused some of the burst.
    await refused;
    await busy.conn.transact([{ n: -2 }]);
    const dbs = await Promise.all(syncs);
    expect(dbs.map((db) => db.basisT >= t)).toEqual(Array.from({ length: burst }, () => true));
  });

  // Bug: queries ran on the node's event loop, synchronously from start to end: while one ran, the
  // node read no other request (not /health either, nor SIGTERM), so READS_MAX never bounded
  // queries: a burst of slow queries was served one after the other, none refused. Fixed: queries
  // run on worker threads (nodes/server/query-pool.ts); the gate admits and refuses them as it
  // does the syncs above.
  it('refuses a burst of slow queries past READS_MAX + QUEUE_MAX with server/busy (bug: queries-block-the-event-loop)', async () => {
    const db = dbAt(await basisTOf(busy.target, busy.admin, 'a'));
    const query = '[:find (count ?a) :where [?a :n ?x] [?b :n ?y] [(< ?x ?y)] [(< ?x 300)] [(< ?y 300)]]';
    const responses = await Promise.all(Array.from({ length: 8 }, () => call(busy.target, busy.admin, 'q', { query, args: [db], dbArgs: [0] })));
    expect(responses.filter((response) => response.status === 429).length).toBeGreaterThan(0);
    const answered = responses.filter((response) => response.status !== 429);
    expect(answered.map((response) => response.status)).toEqual(answered.map(() => 200));
    expect(new Set(answered.map((response) => JSON.stringify(valueOf(response)))).size).toBe(1);
  });

  it('answers /health and transactions while slow queries compute', async () => {
    const db = dbAt(await basisTOf(busy.target, busy.admin, 'a'));
    // A billion triples: it computes until its timeout.
    const endless = '[:find (count ?a) :where [?a :n ?x] [?b :n ?y] [?c :n ?z] [(< ?x ?y)] [(< ?y ?z)]]';
    let settled = false;
    const running = call(busy.target, busy.admin, 'q', { query: endless, args: [db], dbArgs: [0], timeout: 1500 }).finally(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      expect(await healthStatus(busy.target.endpoint)).toBe(200);
      expect(performance.now() - started).toBeLessThan(500);
    }
    expect((await busy.conn.transact([{ n: -3 }])).dbAfter.basisT).toBeGreaterThan(db.basisT);
    expect(settled).toBe(false);
    const response = await running;
    expect({ status: response.status, code: wireErrorOf(response).code }).toEqual({ status: 408, code: 'query/timeout' });
  });
});

/** The status of GET /health. */
function healthStatus(endpoint: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(`${endpoint}/health`, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    }).once('error', reject);
  });
}

/** Waits until `done()` or every request has settled (whichever first); no clock involved. */
async function waitUntil(done: () => boolean, requests: readonly Promise<unknown>[]): Promise<void> {
  const pending = [...requests];
  while (!done() && pending.length > 0) {
    const settled = await Promise.race(pending.map((request, index) => request.then(() => index)));
    pending.splice(settled, 1);
  }
}

describe('overload: query timeouts', () => {
  it('interrupts a query past its own timeout (timeout: 1) with 408 query/timeout, category interrupted', async () => {
    const db = dbAt(await basisTOf(busy.target, busy.admin, 'a'));
    const response = await call(busy.target, busy.admin, 'q', { query: productQuery, args: [db], dbArgs: [0], timeout: 1 });
    const error = wireErrorOf(response);
    expect({ status: response.status, code: error.code, category: error.category, timeoutMs: error.data.timeoutMs }).toEqual({ status: 408, code: 'query/timeout', category: 'interrupted', timeoutMs: 1 });
    // The remote client raises it, without retrying (nothing busy about it).
    await expect(busy.conn.db().runQuery({ query: productQuery, args: [busy.conn.db()], timeout: 1 })).rejects.toMatchObject({ code: 'query/timeout', category: 'interrupted' });
    // The node keeps serving.
    expect(valueOf(await call(busy.target, busy.admin, 'q', { query: '[:find (count ?a) . :where [?a :n]]', args: [db], dbArgs: [0] }))).toBeGreaterThanOrEqual(entities);
  });

  it('caps every query at FACTUM_QUERY_TIMEOUT_MS: one without a timeout, and one asking more', async () => {
    const db = dbAt(await basisTOf(capped.target, capped.admin, 'a'));
    for (const timeout of [undefined, 600_000]) {
      const response = await call(capped.target, capped.admin, 'q', { query: productQuery, args: [db], dbArgs: [0], ...(timeout === undefined ? {} : { timeout }) });
      const error = wireErrorOf(response);
      expect({ timeout, status: response.status, code: error.code, category: error.category, timeoutMs: error.data.timeoutMs }).toEqual({ timeout, status: 408, code: 'query/timeout', category: 'interrupted', timeoutMs: 50 });
    }
    // A query that fits answers, whatever timeout it asks.
    expect(valueOf(await call(capped.target, capped.admin, 'q', { query: '[:find ?n . :where [?a :n ?n] [(= ?n 7)]]', args: [db], dbArgs: [0], timeout: 600_000 }))).toBe(7);
  });

  it("terminates a query thread stuck past its query's timeout and a grace, answers 408 query/timeout, and serves on", async () => {
    const db = dbAt(await basisTOf(capped.target, capped.admin, 'a'));
    const terminated = capped.logged('query-pool/worker-stuck');
    const started = performance.now();
    // A regular expression that backtracks for ages: one call the engine cannot interrupt.
    const hung = call(capped.target, capped.admin, 'q', { query: '[:find ?m . :in $ ?s :where [(re-find "^(a+)+$" ?s) ?m]]', args: [db, `${'a'.repeat(40)}b`], dbArgs: [0] });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await healthStatus(capped.target.endpoint)).toBe(200);
    const response = await hung;
    const error = wireErrorOf(response);
    expect({ status: response.status, code: error.code, category: error.category, timeoutMs: error.data.timeoutMs }).toEqual({ status: 408, code: 'query/timeout', category: 'interrupted', timeoutMs: 50 });
    expect(performance.now() - started).toBeLessThan(15_000);
    await terminated;
    expect(valueOf(await call(capped.target, capped.admin, 'q', { query: '[:find ?n . :where [?a :n ?n] [(= ?n 7)]]', args: [db], dbArgs: [0] }))).toBe(7);
  });
});
