// The list-append workload against real factum databases: an embedded memory client, and a solo
// node in this process reached over HTTP by two remote clients; concurrent processes race on the
// same keys (their :db/cas conflicts are retried), and the history must check strict
// serializable with db-before reads. A connection that turns every :db/cas into a plain assertion
// (appends that overwrite each other) shows the same run does catch lost updates.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client, type Connection, type TxData } from '../../client/index.ts';
import { readNodeSettings, startNode, type RunningNode } from '../../nodes/main.ts';
import { formatHistory } from './history.ts';
import { checkListAppend, type CheckResult } from './list-append.ts';
import { prepareListAppend, runListAppendWorkload, type ListAppendRun } from './list-append-workload.ts';

function expectValid(run: ListAppendRun): CheckResult {
  const result = checkListAppend(run.history.ops, { consistency: 'strict-serializable', reads: 'db-before', checkT: true });
  const shown = result.anomalies.slice(0, 3).map((a) => a.explanation);
  expect(shown, shown.length === 0 ? '' : formatHistory(run.history.ops, { around: result.anomalies[0]!.ops.map((op) => op.index) })).toEqual([]);
  // Lists grew, were read, and the processes did race: the check saw a real workload.
  const longest = Math.max(...run.history.ops.flatMap((op) => (op.type === 'ok' ? op.txn.map((m) => (m[0] === 'r' && m[2] !== null ? m[2].length : 0)) : [])));
  expect(longest).toBeGreaterThan(5);
  expect(result.stats.ok).toBeGreaterThan(100);
  expect(run.casRetries).toBeGreaterThan(0);
  // The final read of every key used (appendsPerKeyMax 40 retired some) committed last.
  const final = run.history.ops[run.history.ops.length - 1]!;
  expect(final.type).toBe('ok');
  expect(final.txn.length).toBeGreaterThan(3);
  return result;
}

describe('embedded memory client', () => {
  let client: Client;
  beforeAll(async () => {
    client = createClient({ storage: 'memory' });
    await prepareListAppend(client);
  });
  afterAll(() => client.close());

  it('5 processes, 300 transactions: strict serializable', async () => {
    const run = await runListAppendWorkload([client], { processes: 5, transactions: 300, keys: 3, appendsPerKeyMax: 40, seed: 7, finalRead: true });
    const result = expectValid(run);
    expect(result.stats.info).toBe(0);
  });

  it('a connection that sends plain assertions instead of :db/cas loses appends, and the checker says so', async () => {
    await prepareListAppend(client, 'no-cas');
    const careless: Client = { ...client, connect: async (name) => withoutCas(await client.connect(name)) };
    const run = await runListAppendWorkload([careless], { database: 'no-cas', processes: 5, transactions: 300, keys: 2, seed: 3 });
    const kinds = new Set(checkListAppend(run.history.ops, { consistency: 'strict-serializable' }).anomalies.map((a) => a.kind));
    expect(kinds.has('lost-update') || kinds.has('lost-append'), [...kinds].join(' ')).toBe(true);
  });
});

/** The connection, with each [:db/cas e a old new] sent as [:db/add e a new]. */
function withoutCas(conn: Connection): Connection {
  const strip = (txData: TxData): TxData =>
    typeof txData === 'string' ? txData : txData.map((form) => (Array.isArray(form) && form[0] === 'db/cas' ? ['db/add', form[1], form[2], form[4]] : form));
  return Object.assign(Object.create(conn) as Connection, { transact: (txData: TxData) => conn.transact(strip(txData)) });
}

describe('remote clients of a solo node', () => {
  let dir: string;
  let node: RunningNode;
  const clients: Client[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'factum-list-append-'));
    node = await startNode(
      readNodeSettings({ FACTUM_STORAGE: 'local', FACTUM_DATA_DIR: dir, FACTUM_PORT: '0', FACTUM_HOST: '127.0.0.1', FACTUM_SYSTEM: 'local', FACTUM_ROLE: 'primary' }),
      new PassThrough().resume(),
    );
    for (let i = 0; i < 2; i++) clients.push(createClient({ endpoint: node.endpoint, system: 'local', keyFile: node.keyFile! }));
    await prepareListAppend(clients[0]!);
  });

  afterAll(async () => {
    for (const client of clients) await client.close();
    await node?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('6 processes over 2 clients, 300 transactions: strict serializable', async () => {
    const run = await runListAppendWorkload(clients, { processes: 6, transactions: 300, keys: 3, appendsPerKeyMax: 40, seed: 11, finalRead: true });
    expectValid(run);
  });
});
